import { ORDER_BAGGAGE_KEYS } from '../../common/restaurant/baggage.ts';
import { startTelemetry } from '../../common/telemetry/sdk.ts';

await startTelemetry('ituna-kitchen', { baggageAttributes: ORDER_BAGGAGE_KEYS });
