import Fastify, { LogController } from 'fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import cors from '@fastify/cors';
import rateLimit from '@fastify/rate-limit';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { fastifyTracingPlugin } from '../common/telemetry/sdk.ts';
import type { GatewayDeps } from './deps.ts';
import { ErrorResponse, HttpError, frameworkErrors, registerErrorHandling } from './errors.ts';
import { adminRoutes } from './routes/admin.ts';
import { healthRoutes } from './routes/health.ts';
import { menuRoutes } from './routes/menu.ts';
import { orderRoutes } from './routes/orders.ts';
import { tracingHooks } from './tracing.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The order this request placed, once accepted: its access-log line names it. */
    acceptedOrder: { orderId: string; channel: string } | null;
  }
}

/**
 * One access-log line per request instead of Fastify's two ("incoming request", then "request completed"): the
 * completed line carries the method and URL as well, and the id and channel of the order it placed, so an order
 * needs no log line of its own at the gateway. Errors are logged as before.
 */
class OneLineRequestLog extends LogController {
  override incomingRequest() {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply) {
    if (error) super.requestCompleted(error, request, reply);
    else
      reply.log.info(
        { req: request, res: reply, responseTime: reply.elapsedTime, ...request.acceptedOrder },
        'request completed',
      );
  }
}

/** The response headers a browser client needs: its trace, its order, a replay, when to retry, its rate limit. */
const EXPOSED_HEADERS = [
  'traceresponse',
  'location',
  'idempotent-replayed',
  'retry-after',
  'ratelimit-limit',
  'ratelimit-remaining',
  'ratelimit-reset',
];

/**
 * ITUNA_TRUST_PROXY: `false` (the default: the client is the peer of the TCP connection), `true` (the left-most
 * X-Forwarded-For address, for a gateway reachable only through proxies), a number of proxy hops, or the
 * comma-separated addresses or CIDR ranges of the proxies to believe.
 */
export function trustProxyVariable(raw: string | undefined): boolean | number | string[] {
  if (raw === undefined || raw === 'false') return false;
  if (raw === 'true') return true;
  if (/^\d+$/.test(raw)) return Number(raw);
  const addresses = raw.split(',').map((a) => a.trim());
  const bad = addresses.filter((a) => !/^[0-9a-fA-F.:]+(\/\d{1,3})?$/.test(a));
  if (bad.length > 0) throw new Error('must be true, false, a number of proxy hops, or addresses or CIDR ranges');
  return addresses;
}

/** The gateway as a Fastify instance, without listening: `server.ts` listens, tests `inject` or listen on port 0. */
export async function buildApp(deps: GatewayDeps) {
  const app = Fastify({
    loggerInstance: deps.logger,
    logController: new OneLineRequestLog(),
    bodyLimit: 64 * 1024,
    frameworkErrors,
    // A client that opens a connection and sends nothing, or a request slowly, must not hold it forever.
    connectionTimeout: deps.connectionTimeoutMs ?? 30_000,
    requestTimeout: 10_000,
    // Behind a proxy, the client is the one the proxy names: keys and rate limits are per client (request.ip).
    trustProxy:
      typeof deps.trustProxy === 'number'
        ? (_address: string, hop: number) => hop < (deps.trustProxy as number)
        : (deps.trustProxy ?? false),
    // Unknown fields are an error, not something to strip; types are never coerced.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: true } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  registerErrorHandling(app);
  app.decorateRequest('acceptedOrder', null);
  // JSON only: any other content type is a 415, not a string body that fails validation later.
  app.removeContentTypeParser('text/plain');
  app.addSchema(ErrorResponse);

  await app.register(tracingHooks);
  const fastifySpans = fastifyTracingPlugin();
  if (fastifySpans) {
    // Fastify's request, hook and handler spans only where a route asks for them (`config.otel`): elsewhere the
    // request span would repeat the HTTP SERVER span, and the hooks' spans say little per order.
    app.addHook('onRoute', (route) => {
      if (route.config?.otel === undefined) route.config = { ...route.config, otel: false };
    });
    await app.register(fastifySpans);
  }

  // A page on another origin reads only the headers a response exposes: those a client acts on.
  if (deps.corsOrigins?.length) await app.register(cors, { origin: deps.corsOrigins, exposedHeaders: EXPOSED_HEADERS });
  // Registered everywhere but applied only where a route asks for it (the order routes).
  await app.register(rateLimit, {
    global: false,
    enableDraftSpec: true,
    errorResponseBuilder: (_request, context) =>
      new HttpError(
        429,
        'rate_limited',
        `Too many orders from this client: at most ${context.max} a minute. Retry in ${context.after}.`,
      ),
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'ITuna order gateway',
        version: '0.1.0',
        description:
          'Takes sushi orders and queues them on Kafka. Every order is one trace; its id comes back as `traceId` and in the `traceresponse` header.',
      },
      tags: [{ name: 'orders' }, { name: 'menu' }, { name: 'admin' }, { name: 'health' }],
      components: { securitySchemes: { managementToken: { type: 'http', scheme: 'bearer' } } },
    },
    refResolver: {
      buildLocalReference: (json, _base, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`),
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  await app.register(orderRoutes, { deps });
  await app.register(menuRoutes);
  await app.register(healthRoutes, { deps });
  await app.register(adminRoutes, { deps });
  return app;
}
