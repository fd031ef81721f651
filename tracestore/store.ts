import { createReadStream } from 'node:fs';
import { appendFile, mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import type { FlatSpan } from '../traces/otlp.ts';

/** What a trace search may ask for; a trace matches when one of its spans does. */
export interface TraceQuery {
  service?: string;
  operation?: string;
  /** Span start bounds, epoch ms. */
  startMin?: number;
  startMax?: number;
  limit?: number;
}

/** Recent traces, in memory within a span budget, kept on disk across restarts. */
export interface TraceStore {
  add(spans: FlatSpan[]): void;
  trace(traceId: string): FlatSpan[];
  /** Matching traces, newest first. */
  find(query: TraceQuery): FlatSpan[][];
  services(): string[];
  operations(service: string): Array<{ name: string; spanKind: string }>;
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
    find({ service, operation, startMin = -Infinity, startMax = Infinity, limit = 20 }) {
      const found: FlatSpan[][] = [];
      for (const list of [...traces.values()].reverse()) {
        const match = list.some(
          (s) => (!service || s.service === service) && (!operation || s.name === operation) && s.startMs >= startMin && s.startMs <= startMax,
        );
        if (match) found.push([...list]);
        if (found.length >= limit) break;
      }
      return found;
    },
    services: () => [...new Set([...traces.values()].flatMap((list) => list.map((s) => s.service)))].sort(),
    operations(service) {
      const seen = new Map<string, string>();
      for (const list of traces.values()) for (const s of list) if (s.service === service) seen.set(s.name, s.kind);
      return [...seen].map(([name, kind]) => ({ name, spanKind: kind })).sort((a, b) => a.name.localeCompare(b.name));
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
