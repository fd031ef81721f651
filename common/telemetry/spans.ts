import { context, propagation } from '@opentelemetry/api';
import type { Span } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from './semconv.ts';

/** Runs `work` with these entries added to the baggage, so every span started inside (and across Kafka) can record them. */
export function withBaggage<T>(entries: Record<string, string>, work: () => T): T {
  let baggage = propagation.getBaggage(context.active()) ?? propagation.createBaggage();
  for (const [key, value] of Object.entries(entries)) baggage = baggage.setEntry(key, { value });
  return context.with(propagation.setBaggage(context.active(), baggage), work);
}

/** The span error pattern: status ERROR, an `exception` event and `error.type`. */
export function recordSpanError(span: Span, error: unknown, errorType?: string): void {
  const err = error instanceof Error ? error : new Error(String(error));
  span.recordException(err);
  span.setStatus({ code: 2, message: err.message });
  // A system error's code (ECONNREFUSED) names its type best; kafkajs's protocol errors have numeric codes.
  const { code } = err as { code?: unknown };
  span.setAttribute(ATTR_ERROR_TYPE, errorType ?? (typeof code === 'string' ? code : err.name));
}
