import {
  isFollowerSpan,
  isWait,
  orderState,
  selfTime,
  stageOf,
  stationOfStage,
  traceCriticalPath,
} from './analysis.ts';
import type { OrderPath, OrderState, Station } from './analysis.ts';
import type { FlatSpan } from './otlp.ts';
import { childrenByParent, topicOf } from './tree.ts';
import { percentiles } from './percentiles.ts';
import type { Percentiles } from './percentiles.ts';

export type { Percentiles, Station };

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
  inFlight: {
    count: number;
    places: Array<{ where: string; station: Station; count: number; oldestMs: number; oldestTraceId: string }>;
  };
  /** HTTP call → ready (or → rejected), per finished order; count 0 when none finished. */
  endToEnd: Percentiles;
  stages: StageStats[];
  /** Per topic: consumer start − message timestamp (`ituna.queue.wait_ms`), and the open waits of orders in flight (`open` of them). */
  queues: Array<{ topic: string; wait: Percentiles; open: number }>;
  /** Each station's share of the critical path, and the part of it orders spent waiting for the station. */
  stations: Array<{ station: Station; share: number; waitShare: number }>;
  /**
   * The station with the largest share of the critical path, its own share and the part of it spent waiting, and its
   * slowest work stage (its share and self time p95).
   */
  bottleneck?: {
    station: Station;
    stage: string;
    share: number;
    selfP95: number;
    stationShare: number;
    waitShare: number;
  };
  /** The slowest orders (in flight ones included), slowest first. */
  slowest: SlowOrder[];
}

/** What analyzeTraces needs besides the traces. */
export interface AnalyzeOptions {
  /** The moment open waits run to (epoch ms); default now. */
  now?: number;
  /** How many of the slowest orders to keep as mini-waterfalls. */
  slowest?: number;
}

/** Aggregates many orders' traces into per-stage figures, queue waits, end-to-end latency and the bottleneck (data; wording.ts says it). */
export function analyzeTraces(
  traces: FlatSpan[][],
  { now = Date.now(), slowest = 10 }: AnalyzeOptions = {},
): BottleneckReport {
  // Keyed by station and stage: every station sends orders.status, and each send is its own stage.
  const samples = new Map<string, { stage: string; station: Station; values: number[]; criticalMs: number }>();
  const stageEntry = (stage: string, station: Station) => {
    const key = `${station}|${stage}`;
    let entry = samples.get(key);
    if (!entry) {
      entry = { stage, station, values: [], criticalMs: 0 };
      samples.set(key, entry);
    }
    return entry;
  };
  const queueWaits = new Map<string, { waits: number[]; open: number }>();
  const queueEntry = (topic: string) => {
    let entry = queueWaits.get(topic);
    if (!entry) {
      entry = { waits: [], open: 0 };
      queueWaits.set(topic, entry);
    }
    return entry;
  };
  const places = new Map<
    string,
    { where: string; station: Station; count: number; oldestMs: number; oldestTraceId: string }
  >();
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
      const place = places.get(state.where) ?? {
        where: state.where,
        station: state.station,
        count: 0,
        oldestMs: -1,
        oldestTraceId: '',
      };
      place.count++;
      if (waited > place.oldestMs) {
        place.oldestMs = waited;
        place.oldestTraceId = spans[0]!.traceId;
      }
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

  const top = stations[0];
  const work = stages.find((s) => s.station === top?.station && !isWait(s.stage));
  const bottleneck: BottleneckReport['bottleneck'] =
    top && totalCritical > 0
      ? {
          station: top.station,
          stage: work?.stage ?? '',
          share: work?.share ?? 0,
          selfP95: work?.self.p95 ?? 0,
          stationShare: top.share,
          waitShare: top.waitShare,
        }
      : undefined;

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
    if (producer?.kind === 'producer' && span.startMs > producer.endMs)
      waits.push({ topic: topicOf(span), startMs: producer.endMs - t0, endMs: span.startMs - t0 });
  }
  if (state.state === 'in flight' && state.producerId)
    waits.push({ topic: state.where, startMs: state.sinceMs - t0, endMs: now - t0, open: true });
  const orderId = onPath.find((s) => typeof s.attributes['ituna.order.id'] === 'string')?.attributes[
    'ituna.order.id'
  ] as string | undefined;
  return {
    traceId: spans[0]!.traceId,
    orderId,
    totalMs: path.totalMs,
    state: state.state,
    where: state.state === 'in flight' ? state.where : undefined,
    spans: onPath
      .slice(0, MINI_ROWS)
      .map((s) => ({ name: s.name, service: s.service, startMs: s.startMs - t0, endMs: s.endMs - t0 })),
    waits,
  };
}
