import type { FlatSpan } from '../traces/otlp.ts';
import { percentiles } from './percentiles.ts';
import type { Percentiles } from './percentiles.ts';

export type { Percentiles };

/** One step of the pipeline: its self time per occurrence, and the time it held the orders' critical path. */
export interface StageStats {
  stage: string;
  station: Station;
  self: Percentiles;
  /** Sum over all orders of the time this stage was on the critical path. */
  criticalMs: number;
  /** criticalMs over the sum of all orders' critical paths. */
  share: number;
  /** Every self time, for distributions. */
  samples: number[];
}

/** Where an order spends its time: the gateway, validation, the kitchen — queue waits belong to the station that drains the queue. */
export type Station = 'gateway' | 'order validation' | 'kitchen';

/** The aggregated verdict over many orders' traces. */
export interface BottleneckReport {
  traces: number;
  ready: number;
  rejected: number;
  /** HTTP call → ready (or → rejected), per order. */
  endToEnd: Percentiles;
  stages: StageStats[];
  /** Per topic: consumer start − message timestamp (`ituna.queue.wait_ms`). */
  queues: Array<{ topic: string; wait: Percentiles }>;
  /** Each station's share of the critical path, and the part of it orders spent waiting for the station. */
  stations: Array<{ station: Station; share: number; waitShare: number }>;
  bottleneck?: { station: Station; stage: string; share: number; stationShare: number; waitShare: number };
  verdict: string;
}

const SERVICE_STATION: Record<string, Station> = {
  'ituna-gateway': 'gateway',
  'ituna-order-validation': 'order validation',
  'ituna-kitchen': 'kitchen',
};
const TOPIC_STATION: Record<string, Station> = {
  'orders.placed': 'order validation',
  'kitchen.tickets': 'kitchen',
  'orders.status': 'gateway',
};

/** Time an order spent waiting rather than being worked on: in Kafka, for a chef, or for an async child. */
export const isWait = (stage: string) => stage.startsWith('queue ') || stage.startsWith('wait for ') || stage === 'waiting';

/** Groups spans into stages: one dish is like another, and a wait in Kafka is named by its topic. */
export function stageOf(span: FlatSpan): string {
  if (span.name.startsWith('prepare ')) return 'prepare dish';
  return span.name;
}

function stationOfStage(stage: string, span: FlatSpan): Station {
  const queue = /^queue (.+)$/.exec(stage);
  if (queue) return TOPIC_STATION[queue[1]!] ?? 'gateway';
  return SERVICE_STATION[span.service] ?? 'gateway';
}

/** The gateway's bookkeeping of status messages happens after the fact; it is not part of an order's path. */
const isBookkeeping = (span: FlatSpan) => span.kind === 'consumer' && span.name === 'process orders.status';

/** Span duration minus the time covered by its children (clipped to the span). */
export function selfTime(span: FlatSpan, children: FlatSpan[]): number {
  const intervals = children
    .map((c) => [Math.max(c.startMs, span.startMs), Math.min(c.endMs, span.endMs)] as const)
    .filter(([a, b]) => b > a)
    .sort((x, y) => x[0] - y[0]);
  let covered = 0;
  let cursor = span.startMs;
  for (const [a, b] of intervals) {
    if (b <= cursor) continue;
    covered += b - Math.max(a, cursor);
    cursor = b;
  }
  return span.durationMs - covered;
}

/**
 * The critical path of one order: walking back from the moment it was done, at each span the child that
 * finished last (counting its whole subtree, which for a producer reaches across Kafka) is what the order
 * was waiting for; time a span spends past its own end waiting for that child is queue time in Kafka.
 * Returns milliseconds per `station|stage`, and the path's total length.
 */
export function criticalPath(spans: FlatSpan[]): { byStage: Map<string, { ms: number; station: Station }>; totalMs: number } {
  const path = spans.filter((s) => !isBookkeeping(s));
  const byId = new Map(path.map((s) => [s.spanId, s]));
  const children = new Map<string, FlatSpan[]>();
  for (const s of path) if (s.parentSpanId && byId.has(s.parentSpanId)) children.set(s.parentSpanId, [...(children.get(s.parentSpanId) ?? []), s]);
  const subtreeEnd = new Map<string, number>();
  const endOf = (s: FlatSpan): number => {
    const cached = subtreeEnd.get(s.spanId);
    if (cached !== undefined) return cached;
    const end = Math.max(s.endMs, ...(children.get(s.spanId) ?? []).map(endOf));
    subtreeEnd.set(s.spanId, end);
    return end;
  };
  const byStage = new Map<string, { ms: number; station: Station }>();
  const credit = (span: FlatSpan, from: number, to: number) => {
    if (to <= from) return;
    // Past its own end, a producer span is waiting for its message to be picked up: that is the queue.
    const own = Math.max(0, Math.min(to, span.endMs) - from);
    const waited = to - from - own;
    const add = (stage: string, ms: number) => {
      if (ms <= 0) return;
      const station = stationOfStage(stage, span);
      const key = `${station}|${stage}`;
      const entry = byStage.get(key) ?? { ms: 0, station };
      entry.ms += ms;
      byStage.set(key, entry);
    };
    add(stageOf(span), own);
    add(span.kind === 'producer' ? `queue ${span.attributes['messaging.destination.name'] ?? span.name.replace(/^send /, '')}` : 'waiting', waited);
  };
  const walk = (span: FlatSpan, windowEnd: number) => {
    let t = windowEnd;
    const pending = [...(children.get(span.spanId) ?? [])];
    for (;;) {
      const candidates = pending.filter((c) => c.startMs < t);
      if (candidates.length === 0) break;
      const next = candidates.reduce((a, b) => (Math.min(endOf(a), t) >= Math.min(endOf(b), t) ? a : b));
      pending.splice(pending.indexOf(next), 1);
      const nextEnd = Math.min(endOf(next), t);
      credit(span, nextEnd, t);
      walk(next, nextEnd);
      t = Math.max(span.startMs, next.startMs);
    }
    credit(span, span.startMs, t);
  };
  const roots = path.filter((s) => !s.parentSpanId || !byId.has(s.parentSpanId));
  if (roots.length === 0) return { byStage, totalMs: 0 };
  const root = roots.reduce((a, b) => (a.startMs <= b.startMs ? a : b));
  const end = endOf(root);
  walk(root, end);
  return { byStage, totalMs: end - root.startMs };
}

const pct = (x: number) => `${Math.round(x * 100)}%`;

/** Aggregates many orders' traces into per-stage figures, queue waits, end-to-end latency and a one-line verdict. */
export function analyzeTraces(traces: FlatSpan[][]): BottleneckReport {
  // Keyed by station and stage: every station sends orders.status, and each send is its own stage.
  const samples = new Map<string, { stage: string; station: Station; values: number[]; criticalMs: number }>();
  const stageEntry = (stage: string, station: Station) => {
    const key = `${station}|${stage}`;
    let entry = samples.get(key);
    if (!entry) samples.set(key, (entry = { stage, station, values: [], criticalMs: 0 }));
    return entry;
  };
  const queueWaits = new Map<string, number[]>();
  const endToEnd: number[] = [];
  let ready = 0;
  let rejected = 0;
  let totalCritical = 0;

  for (const spans of traces) {
    const children = Map.groupBy(spans, (s) => s.parentSpanId ?? '');
    for (const span of spans.filter((s) => !isBookkeeping(s))) {
      const stage = stageOf(span);
      const entry = stageEntry(stage, stationOfStage(stage, span));
      entry.values.push(selfTime(span, children.get(span.spanId) ?? []));
      const wait = span.attributes['ituna.queue.wait_ms'];
      if (span.kind === 'consumer' && typeof wait === 'number') {
        const topic = String(span.attributes['messaging.destination.name'] ?? span.name);
        queueWaits.set(topic, [...(queueWaits.get(topic) ?? []), wait]);
      }
    }
    const isReady = spans.some((s) => s.name === 'cook order');
    const isRejected = spans.some((s) => s.name === 'validate order' && s.attributes['ituna.validation.result'] === 'rejected');
    if (!isReady && !isRejected) continue;
    if (isReady) ready++;
    else rejected++;
    const path = criticalPath(spans);
    endToEnd.push(path.totalMs);
    totalCritical += path.totalMs;
    for (const [key, { ms, station }] of path.byStage) {
      const stage = key.split('|')[1]!;
      const entry = stageEntry(stage, station);
      entry.criticalMs += ms;
      // A queue has no span of its own: its samples are the waits on the orders' critical paths.
      if (stage.startsWith('queue ')) entry.values.push(ms);
    }
  }

  const stages: StageStats[] = [...samples.values()]
    .filter(({ values, criticalMs }) => values.length > 0 || criticalMs > 0)
    .map(({ stage, station, values, criticalMs }) => ({
      stage,
      station,
      self: percentiles(values),
      criticalMs,
      share: totalCritical > 0 ? criticalMs / totalCritical : 0,
      samples: values,
    }))
    .sort((a, b) => b.criticalMs - a.criticalMs || b.self.p95 - a.self.p95);

  const stations = (['gateway', 'order validation', 'kitchen'] as const)
    .map((station) => {
      const own = stages.filter((s) => s.station === station);
      return {
        station,
        share: own.reduce((sum, s) => sum + s.share, 0),
        waitShare: own.filter((s) => isWait(s.stage)).reduce((sum, s) => sum + s.share, 0),
      };
    })
    .sort((a, b) => b.share - a.share);

  const top = stations[0];
  const work = stages.find((s) => s.station === top?.station && !isWait(s.stage));
  let verdict = 'No completed orders in these traces: nothing to judge yet.';
  let bottleneck: BottleneckReport['bottleneck'];
  if (top && work && totalCritical > 0) {
    bottleneck = { station: top.station, stage: work.stage, share: work.share, stationShare: top.share, waitShare: top.waitShare };
    const queued = top.waitShare >= 0.05 ? `, ${pct(top.waitShare)} of it waiting for the ${top.station} to be free` : '';
    verdict =
      `Bottleneck: ${top.station} — ${pct(top.share)} of the orders' critical path${queued}; ` +
      `its slowest step is "${work.stage}" (${pct(work.share)} of the path, self time p95 ${work.self.p95.toFixed(1)} ms).`;
  }

  return {
    traces: traces.length,
    ready,
    rejected,
    endToEnd: percentiles(endToEnd),
    stages,
    queues: [...queueWaits].map(([topic, waits]) => ({ topic, wait: percentiles(waits) })).sort((a, b) => b.wait.p95 - a.wait.p95),
    stations,
    bottleneck,
    verdict,
  };
}
