import { ORDER_BAGGAGE_KEYS } from '../common/restaurant/baggage.ts';
import { startTelemetry } from '../common/telemetry/sdk.ts';
import { rememberServerSpan } from './server-spans.ts';

await startTelemetry('ituna-gateway', {
  fastifySpans: true,
  // Probes and the API docs would bury the orders' traces; they stay visible in the access log.
  ignoreIncomingPaths: /^\/(healthz|readyz|docs)\b/,
  baggageAttributes: ORDER_BAGGAGE_KEYS,
  onIncomingRequestSpan: rememberServerSpan,
});
