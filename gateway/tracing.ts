import { context, trace } from '@opentelemetry/api';
import { RPCType, getRPCMetadata } from '@opentelemetry/core';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { serverSpanOf } from './server-spans.ts';

/**
 * The gateway's tracing hooks, for every route: the route's name on the HTTP SERVER span (`POST /orders/online`,
 * `http.route`), the W3C `traceresponse` header (Trace Context Level 2) that tells a caller which trace its request
 * became, and a log line when an incoming `traceparent` is malformed.
 */
export const tracingHooks = fp(
  async (app: FastifyInstance) => {
    app.addHook('onSend', async (request, reply) => {
      const span = serverSpanOf(request.raw) ?? trace.getActiveSpan();
      const ctx = span?.spanContext();
      if (ctx && trace.isSpanContextValid(ctx)) {
        reply.header(
          'traceresponse',
          `00-${ctx.traceId}-${ctx.spanId}-${ctx.traceFlags.toString(16).padStart(2, '0')}`,
        );
      }
    });
    // A traceparent that is not W3C is ignored by the propagator (the request starts a new trace); say so.
    app.addHook('onRequest', async (request) => {
      // The http instrumentation names its span from the route it finds here when the response ends.
      const rpc = getRPCMetadata(context.active());
      if (rpc?.type === RPCType.HTTP && request.routeOptions.url) rpc.route = request.routeOptions.url;
      const traceparent = request.headers.traceparent;
      if (
        typeof traceparent === 'string' &&
        !/^[\da-f]{2}-[\da-f]{32}-[\da-f]{16}-[\da-f]{2}$/.test(traceparent.trim())
      ) {
        request.log.warn(
          { traceparent: traceparent.slice(0, 80) },
          'ignored a malformed traceparent; this request starts a new trace',
        );
      }
    });
  },
  { name: 'ituna-tracing-hooks' },
);
