import type { IncomingMessage } from 'node:http';
import type { Span } from '@opentelemetry/api';

// The HTTP SERVER span of each incoming request, so the gateway can name it in `traceresponse` and tag it with the order.
const serverSpans = new WeakMap<IncomingMessage, Span>();

/** Remembers the HTTP SERVER span the http instrumentation opened for an incoming request (a telemetry hook). */
export function rememberServerSpan(request: IncomingMessage, span: Span): void {
  serverSpans.set(request, span);
}

/** The HTTP SERVER span that the http instrumentation opened for this incoming request. */
export function serverSpanOf(request: IncomingMessage): Span | undefined {
  return serverSpans.get(request);
}
