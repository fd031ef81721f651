import { setTimeout as sleep } from 'node:timers/promises';
import type { FlatSpan } from '../../tools/traces/otlp.ts';
import { openTraceStore } from '../../tools/tracestore/store.ts';
import { startTraceStoreServer } from '../../tools/tracestore/server.ts';

/** The embedded trace store on free ports, as a test's OTLP receiver: every span the services export, as they arrive. */
export interface TraceReceiver {
  /** Base URL for OTEL_EXPORTER_OTLP_ENDPOINT. */
  url: string;
  /** Base URL of the store's api/v3 and pages. */
  queryUrl: string;
  spans(): FlatSpan[];
  trace(traceId: string): FlatSpan[];
  waitFor(
    predicate: (spans: FlatSpan[]) => boolean,
    options?: { timeoutMs?: number; what?: string },
  ): Promise<FlatSpan[]>;
  close(): Promise<void>;
}

/** Starts an in-memory trace store on 127.0.0.1 (a free OTLP port unless given). */
export async function startTraceReceiver(options: { port?: number } = {}): Promise<TraceReceiver> {
  const store = await openTraceStore({ maxSpans: 10_000_000 });
  const server = await startTraceStoreServer(store, { otlpPort: options.port ?? 0, queryPort: 0 });
  const spans = () => store.find({ limit: Number.MAX_SAFE_INTEGER }).flat();
  return {
    url: server.otlpUrl,
    queryUrl: server.queryUrl,
    spans,
    trace: (traceId) => store.trace(traceId),
    async waitFor(predicate, { timeoutMs = 20_000, what = 'spans' } = {}) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const all = spans();
        if (predicate(all)) return all;
        if (Date.now() > deadline)
          throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; ${all.length} spans received`);
        await sleep(50);
      }
    },
    close: () => server.close(),
  };
}
