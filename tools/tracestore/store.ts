import { createReadStream } from 'node:fs';
import { appendFile, mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { setImmediate as yieldToEvents } from 'node:timers/promises';
import type { FlatSpan } from '../traces/otlp.ts';
import { serviceOf, spanMatches } from './search.ts';
import type { TraceQuery } from './search.ts';

export type { TraceQuery };

/** Recent traces, in memory within a span budget, kept on disk across restarts. */
export interface TraceStore {
  add(spans: FlatSpan[]): void;
  trace(traceId: string): FlatSpan[];
  /** The spans of other traces related to `traceId` by a span link, in either direction (producer ↔ consumer jumps). */
  linked(traceId: string): FlatSpan[];
  /** Matching traces, newest first. */
  find(query: TraceQuery): FlatSpan[][];
  services(): string[];
  /** The span names of `service` with their kinds (lowercase; '' when unspecified), of one kind when `spanKind` is given. */
  operations(service: string, spanKind?: string): Array<{ name: string; spanKind: string }>;
  readonly spanCount: number;
  /** Spans taken since the store opened, those evicted since included. */
  readonly received: number;
  /** Bytes of the store's file on disk (0 without one). */
  readonly diskBytes: number;
  /** Waits for pending disk writes. */
  flush(): Promise<void>;
}

/** Options of openTraceStore. */
export interface TraceStoreOptions {
  /** Spans kept in memory; the oldest traces go first. */
  maxSpans?: number;
  /** JSON lines file that keeps the spans across restarts; memory only without one. */
  file?: string;
  /** Disk the file may use, the temporary file of a compaction included. */
  maxDiskBytes?: number;
}

const isSpanList = (value: unknown): value is FlatSpan[] =>
  Array.isArray(value) && value.every((span) => typeof span?.traceId === 'string' && typeof span.spanId === 'string');

/**
 * Opens a store holding at most `maxSpans` spans (oldest traces go first), persisted as JSON lines in `file`, one
 * line per export, using at most `maxDiskBytes` of disk.
 */
export async function openTraceStore({
  maxSpans = 200_000,
  file,
  maxDiskBytes = 256 * 1024 * 1024,
}: TraceStoreOptions = {}): Promise<TraceStore> {
  const traces = new Map<string, FlatSpan[]>();
  // Trace → the traces whose spans link to it, for the jumps from a producer to consumers elsewhere. Entries of an
  // evicted trace go with it; a trace that links to an evicted one is simply not found.
  const linkedFrom = new Map<string, Set<string>>();
  let spanCount = 0;
  let received = 0;

  const keep = (spans: FlatSpan[]) => {
    for (const span of spans) {
      const list = traces.get(span.traceId);
      if (list) list.push(span);
      else traces.set(span.traceId, [span]);
      for (const link of span.links) {
        if (link.traceId === span.traceId) continue;
        const from = linkedFrom.get(link.traceId) ?? new Set<string>();
        from.add(span.traceId);
        linkedFrom.set(link.traceId, from);
      }
    }
    spanCount += spans.length;
    for (const [traceId, list] of traces) {
      if (spanCount <= maxSpans) break;
      traces.delete(traceId);
      linkedFrom.delete(traceId);
      spanCount -= list.length;
    }
  };

  // Appends grow the file to two thirds of the budget; a compaction then rewrites it from memory, newest traces first,
  // into at most a third, so the old file and the new one together stay within the budget while both exist. Each
  // byte appended is rewritten about once, and a restart finds at least a third of the budget of the newest traces.
  const appendLimit = Math.floor((maxDiskBytes * 2) / 3);
  const compactTarget = Math.floor(maxDiskBytes / 3);
  let fileBytes = 0;
  let pending: string[] = [];
  let writing: Promise<void> | undefined;
  let failing = false;

  const reportDiskError = (error: unknown) => {
    if (!failing)
      process.stderr.write(
        `trace store: cannot write ${file}: ${(error as Error).message}; spans are kept in memory only until it can\n`,
      );
    failing = true;
  };

  /** Rewrites the file from memory: the newest traces that fit in compactTarget, oldest first as the loader expects. */
  const compact = async (path: string) => {
    // Traces grow after this point; the lengths taken now mark what the new file holds, and what comes later is
    // appended after it. Everything still pending is in memory, so in the snapshot.
    const snapshot = [...traces.values()].map((list) => [list, list.length] as const);
    pending = [];
    const lines: string[] = [];
    let bytes = 0;
    for (let i = snapshot.length - 1; i >= 0; i--) {
      const [list, length] = snapshot[i]!;
      const line = `${JSON.stringify(length === list.length ? list : list.slice(0, length))}\n`;
      const size = Buffer.byteLength(line);
      if (size > compactTarget) continue;
      if (bytes + size > compactTarget) break;
      lines.push(line);
      bytes += size;
      if (lines.length % 1000 === 0) await yieldToEvents();
    }
    const temporary = `${path}.tmp`;
    const handle = await open(temporary, 'w');
    try {
      for (let end = lines.length; end > 0; end -= 1000)
        await handle.write(
          lines
            .slice(Math.max(0, end - 1000), end)
            .reverse()
            .join(''),
        );
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
    fileBytes = bytes;
  };

  const drain = async (path: string) => {
    while (pending.length > 0) {
      try {
        const chunk = Buffer.from(pending.join(''));
        pending = [];
        // The chunk's spans are in memory, so in the compaction's snapshot: it is written there instead.
        if (fileBytes + chunk.length > appendLimit) await compact(path);
        else {
          await appendFile(path, chunk);
          fileBytes += chunk.length;
        }
        failing = false;
      } catch (error) {
        reportDiskError(error);
        await rm(`${path}.tmp`, { force: true }).catch(() => {});
        // What the file holds is unknown now; the next write compacts, which rewrites it whole.
        fileBytes = appendLimit;
      }
    }
  };

  const startWriting = (path: string) => {
    // A line added after drain's last look but before this callback would wait for the next add without the restart.
    writing ??= drain(path).finally(() => {
      writing = undefined;
      if (pending.length > 0) startWriting(path);
    });
  };

  const write = (path: string, spans: FlatSpan[]) => {
    pending.push(`${JSON.stringify(spans)}\n`);
    startWriting(path);
  };

  if (file) {
    await mkdir(dirname(file), { recursive: true });
    let loaded = 0;
    let unreadable = 0;
    try {
      fileBytes = (await stat(file)).size;
      for await (const line of createInterface({ input: createReadStream(file) })) {
        if (!line) continue;
        let spans: unknown;
        try {
          spans = JSON.parse(line);
        } catch {
          spans = undefined;
        }
        // A line cut short by a crash, or not the store's: skipped, and gone with the compaction below.
        if (isSpanList(spans)) {
          keep(spans);
          loaded += spans.length;
        } else unreadable++;
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    await rm(`${file}.tmp`, { force: true });
    // Rewrite what survived the span budget, so the file does not carry evicted traces across restarts.
    if (loaded > spanCount || unreadable > 0 || fileBytes > appendLimit) await compact(file);
  }

  return {
    add(spans) {
      if (spans.length === 0) return;
      received += spans.length;
      keep(spans);
      if (file) write(file, spans);
    },
    trace: (traceId) => [...(traces.get(traceId) ?? [])],
    linked(traceId) {
      const own = traces.get(traceId) ?? [];
      const ids = new Set(own.map((s) => s.spanId));
      const related: FlatSpan[] = [];
      // Spans elsewhere that link here (consumers of this trace's messages) …
      for (const other of linkedFrom.get(traceId) ?? [])
        for (const span of traces.get(other) ?? [])
          if (span.links.some((l) => l.traceId === traceId && ids.has(l.spanId))) related.push(span);
      // … and the spans elsewhere this trace's spans link to (the producers of its messages).
      for (const span of own)
        for (const link of span.links) {
          if (link.traceId === traceId) continue;
          const target = traces.get(link.traceId)?.find((s) => s.spanId === link.spanId);
          if (target) related.push(target);
        }
      return related;
    },
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
    get diskBytes() {
      return fileBytes;
    },
    async flush() {
      while (writing) await writing;
    },
  };
}
