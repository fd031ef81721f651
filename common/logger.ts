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
      hooks: { streamWrite: withoutCredentials },
    },
    destination ?? pino.destination(1),
  );
}

/** The name of a credential's field, as JSON writes it ahead of its value. */
const CREDENTIAL = /"authorization"\s*:/i;

/**
 * A log line with every `authorization` field's value, at any depth, replaced by "[redacted]". Checked on the line
 * as written, after the serializers, so no path is missed; pino's `redact` option instead parsed its paths and
 * copied each logged object on every call, 2.5 µs and a few KB of garbage per access-log line
 * (docs/benchmarks-history.md, tuning 30). A line with no such field is returned as it is.
 */
function withoutCredentials(line: string): string {
  if (!CREDENTIAL.test(line)) return line;
  const redact = (value: unknown): unknown => {
    if (typeof value !== 'object' || value === null) return value;
    if (Array.isArray(value)) return value.map(redact);
    return Object.fromEntries(
      Object.entries(value).map(([key, inner]) => [
        key,
        key.toLowerCase() === 'authorization' ? '[redacted]' : redact(inner),
      ]),
    );
  };
  return `${JSON.stringify(redact(JSON.parse(line)))}\n`;
}
