import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { DELAY_STAGES, parseDelayChanges } from '../../common/restaurant/delays.ts';
import { PublisherFullError, outgoing } from '../../common/kafka/publish.ts';
import { controlTopic } from '../../common/topics/index.ts';
import { DEFAULT_PUBLISH_DEADLINE_MS } from '../deps.ts';
import type { GatewayDeps } from '../deps.ts';
import { withDeadline } from '../publish-deadline.ts';
import { managementOnly } from '../auth.ts';
import { ErrorResponse, HttpError } from '../errors.ts';

// The grammar of ITUNA_DELAYS as a pattern, so clients and generators see it: stage=ms or stage=ms~jitter, ms at
// most 60000. That jitter must not exceed ms is beyond a regular expression; the route answers 400 for it.
const MS = '(0|[1-9][0-9]{0,3}|[1-5][0-9]{4}|60000)';
const DELAY_ENTRY = `(${DELAY_STAGES.join('|')})=${MS}(~${MS})?`;
const DELAYS_PATTERN = `^${DELAY_ENTRY}(,${DELAY_ENTRY})*$`;

const SettingsChange = Type.Object(
  {
    delays: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        pattern: DELAYS_PATTERN,
        description: `ITUNA_DELAYS syntax, e.g. \`inventory=150~50,cook=80\`: comma-separated \`stage=ms\` or \`stage=ms~jitter\` with stages ${DELAY_STAGES.join(', ')} and ms up to 60000; only the stages named change. A jitter larger than its ms answers 400 (the pattern cannot say so).`,
      }),
    ),
    kitchenChefs: Type.Optional(Type.Integer({ minimum: 1, maximum: 64, description: 'Chefs per kitchen worker' })),
  },
  { additionalProperties: false, minProperties: 1, examples: [{ delays: 'inventory=150~50', kitchenChefs: 4 }] },
);

const At = Type.String({
  format: 'date-time',
  description: 'When the change was made; running workers applied it then',
});

const LiveSettingsView = Type.Object(
  {
    delays: Type.Object(
      Object.fromEntries(
        DELAY_STAGES.map((stage) => [
          stage,
          Type.Optional(Type.Object({ ms: Type.Integer(), jitterMs: Type.Integer(), at: At })),
        ]),
      ),
      {
        additionalProperties: false,
        description: 'The stages changed since the pipeline began, with their latest delay',
      },
    ),
    kitchenChefs: Type.Optional(Type.Object({ value: Type.Integer(), at: At })),
  },
  {
    description:
      'Every setting changed through PUT /admin/settings, with its latest value and when that took effect. A setting not listed was never changed: each worker uses its environment (ITUNA_DELAYS, ITUNA_KITCHEN_CHEFS), as does a worker started after a change.',
  },
);

/** Management routes: read and change the simulated work and the kitchen's chefs while the pipeline runs. */
export const adminRoutes: FastifyPluginAsyncTypebox<{ deps: GatewayDeps }> = async (app, { deps }) => {
  const onRequest = managementOnly(deps.managementToken, 'Admin routes');
  // The management-token check is a hook worth seeing in a trace: these routes keep Fastify's hook and handler spans.
  const config = { otel: { instrumentHooks: true } };
  const errors = { 401: ErrorResponse, 403: ErrorResponse, 503: ErrorResponse };

  app.get(
    '/admin/settings',
    {
      schema: {
        tags: ['admin'],
        summary: 'The live settings and when each took effect',
        description:
          'Read from the `ituna.control` topic, which every gateway replica follows from its beginning. Needs the management token.',
        security: [{ managementToken: [] }],
        response: { 200: LiveSettingsView, ...errors },
      },
      onRequest,
      config,
    },
    async () => deps.settings.snapshot(),
  );

  app.put(
    '/admin/settings',
    {
      schema: {
        tags: ['admin'],
        summary: 'Change stage delays and chefs on every running worker',
        description:
          'Publishes the change to the `ituna.control` topic, which every running worker follows; a worker started later begins from its environment. Needs the management token.',
        security: [{ managementToken: [] }],
        body: SettingsChange,
        response: {
          202: Type.Object({
            delays: Type.Optional(Type.String()),
            kitchenChefs: Type.Optional(Type.Integer()),
            at: Type.String({ format: 'date-time' }),
          }),
          400: ErrorResponse,
          ...errors,
        },
      },
      onRequest,
      config,
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
        await withDeadline(
          deps.publish([outgoing(controlTopic, change)]),
          deps.publishDeadlineMs ?? DEFAULT_PUBLISH_DEADLINE_MS,
        );
      } catch (error) {
        // A refused send changed nothing; one that outlived the deadline may still reach the workers.
        throw new HttpError(
          503,
          'kafka_unavailable',
          error instanceof PublisherFullError
            ? 'Kafka is not keeping up; nothing changed. Try again shortly.'
            : 'The change was not acknowledged in time; it may still take effect. Read GET /admin/settings, or send it again: the same change twice is harmless.',
          { 'retry-after': '1' },
        );
      }
      // This replica answers GET /admin/settings with the change at once; its follower brings the same change again.
      deps.settings.apply(change);
      request.log.info({ change }, 'settings change published');
      return reply.code(202).send(change);
    },
  );
};
