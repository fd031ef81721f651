import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { GatewayDeps } from '../deps.ts';

const Health = Type.Object({ status: Type.Enum(['ok', 'unavailable']) });

/** Probes for orchestrators: alive, and ready to take orders (connected to Kafka). */
export const healthRoutes: FastifyPluginAsyncTypebox<{ deps: GatewayDeps }> = async (app, { deps }) => {
  app.get(
    '/healthz',
    { schema: { tags: ['health'], summary: 'The process is alive', response: { 200: Health } } },
    async () => ({
      status: 'ok' as const,
    }),
  );
  app.get(
    '/readyz',
    {
      schema: {
        tags: ['health'],
        summary: 'Connected to Kafka and able to publish',
        response: { 200: Health, 503: Health },
      },
    },
    async (_request, reply) =>
      deps.isReady() ? { status: 'ok' as const } : reply.code(503).send({ status: 'unavailable' as const }),
  );
};
