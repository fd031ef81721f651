import { join } from 'node:path';
import { integer } from '../../common/config.ts';
import type { TraceStoreOptions } from './store.ts';

/** The embedded trace store's variables, for loadConfig in each process that runs it. */
export const TRACE_STORE_CONFIG = {
  ITUNA_TRACESTORE_MAX_SPANS: integer(200_000, 1000, 10_000_000),
  ITUNA_TRACESTORE_MAX_DISK_MB: integer(256, 1, 1_048_576),
};

/** Store options from the loaded variables, persisting under the project's ignored .data folder. */
export function traceStoreOptions(config: {
  ITUNA_TRACESTORE_MAX_SPANS: number;
  ITUNA_TRACESTORE_MAX_DISK_MB: number;
}): TraceStoreOptions {
  return {
    maxSpans: config.ITUNA_TRACESTORE_MAX_SPANS,
    maxDiskBytes: config.ITUNA_TRACESTORE_MAX_DISK_MB * 1024 * 1024,
    // A path, not `new URL(…, import.meta.url)`: knip follows those as imports, and would parse the kept spans
    // (hundreds of MB once `npm start` has run) as source, and overflow its stack.
    file: join(import.meta.dirname, '..', '..', '.data', 'traces', 'spans.jsonl'),
  };
}
