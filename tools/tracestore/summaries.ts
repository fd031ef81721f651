import type { FlatSpan } from '../traces/otlp.ts';
import { rootOf } from '../traces/tree.ts';
import type { TraceStore } from './store.ts';

/** What the trace list shows of one trace. */
export interface TraceSummary {
  traceId: string;
  /** The root span (no parent in the trace; the earliest such). */
  rootName: string;
  rootService: string;
  services: string[];
  operations: Set<string>;
  startMs: number;
  /** Root start to the last span's end. */
  durationMs: number;
  spanCount: number;
  error: boolean;
  orderIds: Set<string>;
  runIds: Set<string>;
}

/** What the trace list may filter by; a trace matches when it meets all of them. */
export interface TraceFilter {
  service?: string;
  operation?: string;
  orderId?: string;
  runId?: string;
  minDurationMs?: number;
  errorsOnly?: boolean;
  /** Bounds on the trace's start, unix ms, inclusive. */
  fromMs?: number;
  toMs?: number;
}

/** Summarizes one trace. */
export function summarize(spans: FlatSpan[]): TraceSummary {
  const root = rootOf(spans)!;
  const services = new Set<string>();
  const operations = new Set<string>();
  const orderIds = new Set<string>();
  const runIds = new Set<string>();
  let end = -Infinity;
  let error = false;
  for (const span of spans) {
    services.add(span.service);
    operations.add(span.name);
    if (span.endMs > end) end = span.endMs;
    if (span.status.code === 'error') error = true;
    const order = span.attributes['ituna.order.id'];
    if (order !== undefined) orderIds.add(String(order));
    const run = span.attributes['ituna.run.id'];
    if (run !== undefined) runIds.add(String(run));
  }
  return {
    traceId: root.traceId,
    rootName: root.name,
    rootService: root.service,
    services: [...services].sort(),
    operations,
    startMs: root.startMs,
    durationMs: end - root.startMs,
    spanCount: spans.length,
    error,
    orderIds,
    runIds,
  };
}

const matches = (s: TraceSummary, f: TraceFilter) =>
  (!f.service || s.services.includes(f.service)) &&
  (!f.operation || s.operations.has(f.operation)) &&
  (!f.orderId || s.orderIds.has(f.orderId)) &&
  (!f.runId || s.runIds.has(f.runId)) &&
  (f.minDurationMs === undefined || s.durationMs >= f.minDurationMs) &&
  (!f.errorsOnly || s.error) &&
  (f.fromMs === undefined || s.startMs >= f.fromMs) &&
  (f.toMs === undefined || s.startMs <= f.toMs);

/** Searches the store's traces by summary, newest first, a page at a time; summaries are kept until a trace changes. */
export function createTraceIndex(store: TraceStore) {
  let cache = new Map<string, TraceSummary>();
  return {
    /**
     * Matching traces from `offset`, their total, every match (newest first, for the scatter), and every service and
     * operation name the store holds (for the filters).
     */
    search(filter: TraceFilter, { offset = 0, limit = 50 }: { offset?: number; limit?: number } = {}) {
      const next = new Map<string, TraceSummary>();
      const found: TraceSummary[] = [];
      const services = new Set<string>();
      const operations = new Set<string>();
      for (const spans of store.find({ limit: Infinity })) {
        const traceId = spans[0]!.traceId;
        let summary = cache.get(traceId);
        // A trace only grows (spans arrive late), so its span count says whether the summary is still true.
        if (!summary || summary.spanCount !== spans.length) summary = summarize(spans);
        next.set(traceId, summary);
        for (const service of summary.services) services.add(service);
        for (const operation of summary.operations) operations.add(operation);
        if (matches(summary, filter)) found.push(summary);
      }
      cache = next;
      return {
        total: found.length,
        traces: found.slice(offset, offset + limit),
        matches: found,
        services: [...services].sort(),
        operations: [...operations].sort(),
      };
    },
  };
}
