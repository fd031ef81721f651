import pino from 'pino';
import type { DestinationStream, Logger } from 'pino';
import { oneOf } from './config.ts';

export type { Logger };

/** LOG_LEVEL: pino's levels. */
export const logLevel = oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info');

/** JSON lines tagged with the service, to stdout unless told; the pino instrumentation adds trace_id/span_id of the active span. */
export function createLogger(service: string, level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Belt and braces: nothing logs headers today, and a management token must never reach a log line.
      redact: {
        paths: ['req.headers.authorization', 'headers.authorization', '*.headers.authorization'],
        censor: '[redacted]',
      },
    },
    destination ?? pino.destination(1),
  );
}
