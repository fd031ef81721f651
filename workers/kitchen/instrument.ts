import { startTelemetry } from '../../common/telemetry.ts';

startTelemetry('ituna-kitchen');
