import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { parseDelayChanges } from '../../common/restaurant/delays.ts';
import { outgoing } from '../../common/kafka/publish.ts';
import { controlTopic } from '../../common/topics/index.ts';
import type { GatewayDeps } from '../deps.ts';
import { managementOnly } from '../auth.ts';
import { ErrorResponse, HttpError } from '../errors.ts';

const Settings = Type.Object(
  {
    delays: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'ITUNA_DELAYS syntax; only the stages named change' })),
    kitchenChefs: Type.Optional(Type.Integer({ minimum: 1, maximum: 64, description: 'Chefs per kitchen worker' })),
  },
  { additionalProperties: false, minProperties: 1, examples: [{ delays: 'inventory=150~50', kitchenChefs: 4 }] },
);

/** Management routes: change the simulated work and the kitchen's chefs while the pipeline runs. */
export const adminRoutes: FastifyPluginAsyncTypebox<{ deps: GatewayDeps }> = async (app, { deps }) => {
  app.put(
    '/admin/settings',
    {
      schema: {
        tags: ['admin'],
        summary: 'Change stage delays and chefs on every running worker',
        description: 'Publishes the change to the `ituna.control` topic, which every running worker follows; a worker started later begins from its environment. Needs the management token.',
        security: [{ managementToken: [] }],
        body: Settings,
        response: {
          202: Type.Object({ delays: Type.Optional(Type.String()), kitchenChefs: Type.Optional(Type.Integer()), at: Type.String({ format: 'date-time' }) }),
          400: ErrorResponse,
          401: ErrorResponse,
          403: ErrorResponse,
          503: ErrorResponse,
        },
      },
      onRequest: managementOnly(deps.managementToken, 'Admin routes'),
      // The management-token check is a hook worth seeing in a trace: Fastify's hook and handler spans stay on.
      config: { otel: { instrumentHooks: true } },
    },
    async (request, reply) => {
      if (request.body.delays) {
        try {
          parseDelayChanges(request.body.delays);
        } catch (error) {
          throw new HttpError(400, 'invalid_request', `delays ${(error as Error).message}`);
        }
      }
      const change = { ...request.body, at: new Date().toISOString() };
      try {
        await deps.publish([outgoing(controlTopic, change)]);
      } catch {
        throw new HttpError(503, 'kafka_unavailable', 'The change could not be published; nothing changed. Try again shortly.', { 'retry-after': '1' });
      }
      request.log.info({ change }, 'settings change published');
      return reply.code(202).send(change);
    },
  );
};
