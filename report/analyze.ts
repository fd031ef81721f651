import type { FlatSpan } from '../traces/otlp.ts';
import { childrenByParent, rootOf, topicOf } from '../traces/tree.ts';
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

/** One of the slowest orders, for a mini-waterfall: times in ms from the order's start. */
export interface SlowOrder {
  traceId: string;
  orderId?: string;
  /** Its critical path's length; for an order in flight, up to now. */
  totalMs: number;
  state: 'ready' | 'rejected' | 'in flight';
  /** Where an order in flight waits: a topic, or a station. */
  where?: string;
  spans: Array<{ name: string; service: string; startMs: number; endMs: number }>;
  /** Time its messages waited in Kafka (producer end → consumer start); `open` when still waiting. */
  waits: Array<{ topic: string; startMs: number; endMs: number; open?: boolean }>;
}

/** The aggregated verdict over many orders' traces. */
export interface BottleneckReport {
  traces: number;
  /** Traces that hold an order (ready, rejected or in flight). */
  orders: number;
  ready: number;
  rejected: number;
  /** Orders not done yet, by where they wait; their open waits run to the analysis' `now`. */
  inFlight: { count: number; places: Array<{ where: string; station: Station; count: number; oldestMs: number; oldestTraceId: string }> };
  /** HTTP call → ready (or → rejected), per finished order; count 0 when none finished. */
  endToEnd: Percentiles;
  stages: StageStats[];
  /** Per topic: consumer start − message timestamp (`ituna.queue.wait_ms`), and the open waits of orders in flight (`open` of them). */
  queues: Array<{ topic: string; wait: Percentiles; open: number }>;
  /** Each station's share of the critical path, and the part of it orders spent waiting for the station. */
  stations: Array<{ station: Station; share: number; waitShare: number }>;
  bottleneck?: { station: Station; stage: string; share: number; stationShare: number; waitShare: number };
  /** The slowest orders (in flight ones included), slowest first. */
  slowest: SlowOrder[];
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

/** The followers' reading of status messages (order history, ready orders) happens after the fact; it is not part of an order's path. */
export const isFollowerSpan = (span: FlatSpan) => span.kind === 'consumer' && span.name === 'process orders.status';

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

/** One stretch of an order's critical path: the span that held it, or a wait after that span's end. */
export interface PathSection {
  spanId: string;
  startMs: number;
  endMs: number;
  stage: string;
  station: Station;
  /** For a wait: the span the order was waiting for (the consumer, for a wait in Kafka); none while it still waits. */
  before?: string;
}

/** Where an order is: done, or still in flight — waiting in a topic nobody has taken its message from yet. */
export type OrderState =
  | { state: 'ready' | 'rejected' }
  | { state: 'in flight'; where: string; station: Station; sinceMs: number; producerId?: string };

const isOrderSend = (span: FlatSpan) => span.kind === 'producer' && (topicOf(span) === 'orders.placed' || topicOf(span) === 'kitchen.tickets');

/** The state of the order a trace holds; undefined when the trace holds no order (a status query, a health check). */
export function orderState(spans: FlatSpan[]): OrderState | undefined {
  if (!spans.some(isOrderSend)) return undefined;
  if (spans.some((s) => s.name === 'cook order')) return { state: 'ready' };
  if (spans.some((s) => s.name === 'validate order' && s.attributes['ituna.validation.result'] === 'rejected')) return { state: 'rejected' };
  // A message sent on and not taken yet: the order waits in that topic (the consumer's span arrives when it ends).
  const consumed = new Set(spans.filter((s) => s.kind === 'consumer' && s.parentSpanId).map((s) => s.parentSpanId!));
  let waiting: FlatSpan | undefined;
  let last: FlatSpan | undefined;
  for (const span of spans) {
    if (!last || span.endMs > last.endMs) last = span;
    if (span.kind !== 'producer' || consumed.has(span.spanId) || topicOf(span) === 'orders.status') continue;
    if (!waiting || span.endMs > waiting.endMs) waiting = span;
  }
  if (waiting) {
    const topic = topicOf(waiting);
    return { state: 'in flight', where: topic, station: TOPIC_STATION[topic] ?? 'gateway', sinceMs: waiting.endMs, producerId: waiting.spanId };
  }
  const station = SERVICE_STATION[last!.service] ?? 'gateway';
  return { state: 'in flight', where: station, station, sinceMs: last!.endMs };
}

/** One order's critical path: its sections in time order, their sum per `station|stage`, and its length. */
export interface OrderPath {
  rootSpanId?: string;
  startMs: number;
  endMs: number;
  totalMs: number;
  sections: PathSection[];
  byStage: Map<string, { ms: number; station: Station }>;
}

/**
 * The critical path of one order: walking back from the moment it was done, at each span the child that
 * finished last (counting its whole subtree, which for a producer reaches across Kafka) is what the order
 * was waiting for; time a span spends past its own end waiting for that child is queue time in Kafka.
 * Unlike a critical path that drops children starting after their parent ended, consumer spans stay: their
 * wait counts for the station that drains the queue. `waitingUntil` extends the wait of an order still in
 * flight (the message `waitingSpanId` sent and nobody took yet) to that moment, usually now.
 */
export function traceCriticalPath(spans: FlatSpan[], { waitingSpanId, waitingUntil }: { waitingSpanId?: string; waitingUntil?: number } = {}): OrderPath {
  const path = spans.filter((s) => !isFollowerSpan(s));
  const children = childrenByParent(path);
  const subtreeEnd = new Map<string, number>();
  const endOf = (s: FlatSpan): number => {
    const cached = subtreeEnd.get(s.spanId);
    if (cached !== undefined) return cached;
    let end = s.spanId === waitingSpanId && waitingUntil !== undefined ? Math.max(s.endMs, waitingUntil) : s.endMs;
    for (const child of children.get(s.spanId) ?? []) end = Math.max(end, endOf(child));
    subtreeEnd.set(s.spanId, end);
    return end;
  };
  const sections: PathSection[] = [];
  const credit = (span: FlatSpan, from: number, to: number, before: FlatSpan | undefined) => {
    if (to <= from) return;
    // Past its own end, a producer span is waiting for its message to be picked up: that is the queue.
    const ownEnd = Math.min(to, Math.max(from, span.endMs));
    const stage = stageOf(span);
    if (to > ownEnd) {
      const wait = span.kind === 'producer' ? `queue ${topicOf(span)}` : 'waiting';
      sections.push({ spanId: span.spanId, startMs: ownEnd, endMs: to, stage: wait, station: stationOfStage(wait, span), before: before?.spanId });
    }
    if (ownEnd > from) sections.push({ spanId: span.spanId, startMs: from, endMs: ownEnd, stage, station: stationOfStage(stage, span) });
  };
  const walk = (span: FlatSpan, windowEnd: number) => {
    let t = windowEnd;
    let after: FlatSpan | undefined;
    const pending = [...(children.get(span.spanId) ?? [])];
    for (;;) {
      let next: FlatSpan | undefined;
      let nextEnd = -Infinity;
      for (const c of pending) {
        if (c.startMs >= t) continue;
        const end = Math.min(endOf(c), t);
        if (!next || end > nextEnd) (next = c), (nextEnd = end);
      }
      if (!next) break;
      pending.splice(pending.indexOf(next), 1);
      credit(span, nextEnd, t, after);
      walk(next, nextEnd);
      t = Math.max(span.startMs, next.startMs);
      after = next;
    }
    credit(span, span.startMs, t, after);
  };
  const byStage = new Map<string, { ms: number; station: Station }>();
  const root = rootOf(path);
  if (!root) return { startMs: 0, endMs: 0, totalMs: 0, sections, byStage };
  const end = endOf(root);
  walk(root, end);
  sections.reverse();
  for (const section of sections) {
    const key = `${section.station}|${section.stage}`;
    const entry = byStage.get(key) ?? { ms: 0, station: section.station };
    entry.ms += section.endMs - section.startMs;
    byStage.set(key, entry);
  }
  return { rootSpanId: root.spanId, startMs: root.startMs, endMs: end, totalMs: end - root.startMs, sections, byStage };
}

/** The critical path of one order as milliseconds per `station|stage`, and the path's total length. */
export function criticalPath(spans: FlatSpan[]): { byStage: Map<string, { ms: number; station: Station }>; totalMs: number } {
  const { byStage, totalMs } = traceCriticalPath(spans);
  return { byStage, totalMs };
}

const pct = (x: number) => `${Math.round(x * 100)}%`;

/** A wait as people say it: "95 s", "2.9 s", "340 ms". */
export const spokenDuration = (ms: number) => (ms >= 10_000 ? `${Math.round(ms / 1000)} s` : ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`);

/** What analyzeTraces needs besides the traces. */
export interface AnalyzeOptions {
  /** The moment open waits run to (epoch ms); default now. */
  now?: number;
  /** How many of the slowest orders to keep as mini-waterfalls. */
  slowest?: number;
}

/** Aggregates many orders' traces into per-stage figures, queue waits, end-to-end latency and a one-line verdict. */
export function analyzeTraces(traces: FlatSpan[][], { now = Date.now(), slowest = 10 }: AnalyzeOptions = {}): BottleneckReport {
  // Keyed by station and stage: every station sends orders.status, and each send is its own stage.
  const samples = new Map<string, { stage: string; station: Station; values: number[]; criticalMs: number }>();
  const stageEntry = (stage: string, station: Station) => {
    const key = `${station}|${stage}`;
    let entry = samples.get(key);
    if (!entry) samples.set(key, (entry = { stage, station, values: [], criticalMs: 0 }));
    return entry;
  };
  const queueWaits = new Map<string, { waits: number[]; open: number }>();
  const queueEntry = (topic: string) => {
    let entry = queueWaits.get(topic);
    if (!entry) queueWaits.set(topic, (entry = { waits: [], open: 0 }));
    return entry;
  };
  const places = new Map<string, { where: string; station: Station; count: number; oldestMs: number; oldestTraceId: string }>();
  const endToEnd: number[] = [];
  const candidates: Array<{ spans: FlatSpan[]; path: OrderPath; state: OrderState }> = [];
  let orders = 0;
  let ready = 0;
  let rejected = 0;
  let totalCritical = 0;

  for (const spans of traces) {
    const children = childrenByParent(spans);
    for (const span of spans) {
      if (isFollowerSpan(span)) continue;
      const stage = stageOf(span);
      const entry = stageEntry(stage, stationOfStage(stage, span));
      entry.values.push(selfTime(span, children.get(span.spanId) ?? []));
      const wait = span.attributes['ituna.queue.wait_ms'];
      if (span.kind === 'consumer' && typeof wait === 'number') queueEntry(topicOf(span)).waits.push(wait);
    }
    const state = orderState(spans);
    if (!state) continue;
    orders++;
    let path: OrderPath;
    if (state.state === 'in flight') {
      // Its open wait runs to now: an order stuck in a queue is the clearest sign of where the pipeline is short.
      path = traceCriticalPath(spans, { waitingSpanId: state.producerId, waitingUntil: now });
      const waited = Math.max(0, now - state.sinceMs);
      if (state.producerId) {
        const queue = queueEntry(state.where);
        queue.waits.push(waited);
        queue.open++;
      }
      const place = places.get(state.where) ?? { where: state.where, station: state.station, count: 0, oldestMs: -1, oldestTraceId: '' };
      place.count++;
      if (waited > place.oldestMs) (place.oldestMs = waited), (place.oldestTraceId = spans[0]!.traceId);
      places.set(state.where, place);
    } else {
      path = traceCriticalPath(spans);
      if (state.state === 'ready') ready++;
      else rejected++;
      endToEnd.push(path.totalMs);
    }
    candidates.push({ spans, path, state });
    totalCritical += path.totalMs;
    for (const [key, { ms, station }] of path.byStage) {
      const stage = key.slice(key.indexOf('|') + 1);
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

  const stuck = [...places.values()].sort((a, b) => b.count - a.count || b.oldestMs - a.oldestMs);
  const inFlightCount = stuck.reduce((sum, p) => sum + p.count, 0);
  const oldest = stuck.reduce<(typeof stuck)[number] | undefined>((a, b) => (!a || b.oldestMs > a.oldestMs ? b : a), undefined);
  const inFlightLine = oldest
    ? `${inFlightCount} of ${orders} orders in flight, oldest waiting ${spokenDuration(oldest.oldestMs)} in ${oldest.where}` +
      (stuck.length > 1 || stuck[0]!.count !== inFlightCount || stuck[0]!.where !== oldest.where
        ? ` (${stuck.map((p) => `${p.count} in ${p.where}`).join(', ')})`
        : '') +
      '. '
    : '';

  const top = stations[0];
  const work = stages.find((s) => s.station === top?.station && !isWait(s.stage));
  let verdict = orders > 0 ? `${inFlightLine}No stage has held an order yet: nothing to judge.` : 'No completed orders in these traces: nothing to judge yet.';
  let bottleneck: BottleneckReport['bottleneck'];
  if (top && totalCritical > 0) {
    const queued = top.waitShare >= 0.05 ? `, ${pct(top.waitShare)} of it waiting for the ${top.station} to be free` : '';
    const step = work ? `; its slowest step is "${work.stage}" (${pct(work.share)} of the path, self time p95 ${work.self.p95.toFixed(1)} ms)` : '';
    bottleneck = { station: top.station, stage: work?.stage ?? '', share: work?.share ?? 0, stationShare: top.share, waitShare: top.waitShare };
    verdict = `${inFlightLine}Bottleneck: ${top.station} — ${pct(top.share)} of the orders' critical path${queued}${step}.`;
  }

  const slowOrders = candidates
    .sort((a, b) => b.path.totalMs - a.path.totalMs)
    .slice(0, slowest)
    .map(({ spans, path, state }) => slowOrder(spans, path, state, now));

  return {
    traces: traces.length,
    orders,
    ready,
    rejected,
    inFlight: { count: inFlightCount, places: stuck },
    endToEnd: percentiles(endToEnd),
    stages,
    queues: [...queueWaits]
      .map(([topic, { waits, open }]) => ({ topic, wait: percentiles(waits), open }))
      .sort((a, b) => b.wait.p95 - a.wait.p95),
    stations,
    bottleneck,
    slowest: slowOrders,
    verdict,
  };
}

const MINI_ROWS = 40;

/** One slow order, drawn small: its spans and Kafka waits relative to its start. */
function slowOrder(spans: FlatSpan[], path: OrderPath, state: OrderState, now: number): SlowOrder {
  const onPath = spans.filter((s) => !isFollowerSpan(s)).sort((a, b) => a.startMs - b.startMs);
  const byId = new Map(onPath.map((s) => [s.spanId, s]));
  const t0 = path.startMs;
  const waits: SlowOrder['waits'] = [];
  for (const span of onPath) {
    const producer = span.kind === 'consumer' && span.parentSpanId ? byId.get(span.parentSpanId) : undefined;
    if (producer?.kind === 'producer' && span.startMs > producer.endMs) waits.push({ topic: topicOf(span), startMs: producer.endMs - t0, endMs: span.startMs - t0 });
  }
  if (state.state === 'in flight' && state.producerId) waits.push({ topic: state.where, startMs: state.sinceMs - t0, endMs: now - t0, open: true });
  const orderId = onPath.find((s) => typeof s.attributes['ituna.order.id'] === 'string')?.attributes['ituna.order.id'] as string | undefined;
  return {
    traceId: spans[0]!.traceId,
    orderId,
    totalMs: path.totalMs,
    state: state.state,
    where: state.state === 'in flight' ? state.where : undefined,
    spans: onPath.slice(0, MINI_ROWS).map((s) => ({ name: s.name, service: s.service, startMs: s.startMs - t0, endMs: s.endMs - t0 })),
    waits,
  };
}
