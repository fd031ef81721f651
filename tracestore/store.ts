import { createReadStream } from 'node:fs';
import { appendFile, mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import type { FlatSpan } from '../traces/otlp.ts';
import { serviceOf, spanMatches } from './search.ts';
import type { TraceQuery } from './search.ts';

export type { TraceQuery };

/** Recent traces, in memory within a span budget, kept on disk across restarts. */
export interface TraceStore {
  add(spans: FlatSpan[]): void;
  trace(traceId: string): FlatSpan[];
  /** Matching traces, newest first. */
  find(query: TraceQuery): FlatSpan[][];
  services(): string[];
  /** The span names of `service` with their kinds (lowercase; '' when unspecified), of one kind when `spanKind` is given. */
  operations(service: string, spanKind?: string): Array<{ name: string; spanKind: string }>;
  readonly spanCount: number;
  /** Spans taken since the store opened, those evicted since included. */
  readonly received: number;
  /** Waits for pending disk writes. */
  flush(): Promise<void>;
}

/** Opens a store holding at most `maxSpans` spans (oldest traces go first), persisted as JSON lines in `file`. */
export async function openTraceStore({ maxSpans = 200_000, file }: { maxSpans?: number; file?: string } = {}): Promise<TraceStore> {
  const traces = new Map<string, FlatSpan[]>();
  let spanCount = 0;
  let received = 0;
  let writes: Promise<unknown> = Promise.resolve();

  const keep = (spans: FlatSpan[]) => {
    for (const span of spans) {
      const list = traces.get(span.traceId);
      if (list) list.push(span);
      else traces.set(span.traceId, [span]);
    }
    spanCount += spans.length;
    for (const [traceId, list] of traces) {
      if (spanCount <= maxSpans) break;
      traces.delete(traceId);
      spanCount -= list.length;
    }
  };

  if (file) {
    await mkdir(dirname(file), { recursive: true });
    let lines = 0;
    try {
      for await (const line of createInterface({ input: createReadStream(file) })) {
        if (!line) continue;
        lines++;
        keep(JSON.parse(line) as FlatSpan[]);
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    // Rewrite what survived the budget, so the file does not grow without bound across restarts.
    if (lines > traces.size) {
      const temporary = `${file}.tmp`;
      await writeFile(temporary, [...traces.values()].map((list) => JSON.stringify(list) + '\n').join(''));
      await rename(temporary, file);
    }
  }

  return {
    add(spans) {
      if (spans.length === 0) return;
      received += spans.length;
      keep(spans);
      if (file) writes = writes.then(() => appendFile(file, JSON.stringify(spans) + '\n')).catch(() => {});
    },
    trace: (traceId) => [...(traces.get(traceId) ?? [])],
    find(query) {
      const limit = query.limit ?? 20;
      const found: FlatSpan[][] = [];
      if (limit <= 0) return found;
      // Newest first means the trace whose first span arrived last first, as in Jaeger's memory store.
      for (const list of [...traces.values()].reverse()) {
        if (list.some((span) => spanMatches(span, query))) found.push([...list]);
        if (found.length >= limit) break;
      }
      return found;
    },
    services() {
      const names = new Set<string>();
      for (const list of traces.values()) for (const span of list) if (serviceOf(span)) names.add(serviceOf(span));
      return [...names].sort();
    },
    operations(service, spanKind = '') {
      const seen = new Map<string, { name: string; spanKind: string }>();
      for (const list of traces.values()) {
        for (const span of list) {
          if (!service || serviceOf(span) !== service) continue;
          const kind = span.kind === 'unspecified' ? '' : span.kind;
          if (!spanKind || spanKind === kind) seen.set(`${kind} ${span.name}`, { name: span.name, spanKind: kind });
        }
      }
      return [...seen.values()].sort((a, b) => a.name.localeCompare(b.name) || a.spanKind.localeCompare(b.spanKind));
    },
    get spanCount() {
      return spanCount;
    },
    get received() {
      return received;
    },
    flush: () => writes.then(() => {}),
  };
}
