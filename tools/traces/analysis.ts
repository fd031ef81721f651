import type { FlatSpan } from './otlp.ts';
import { childrenByParent, rootOf, topicOf } from './tree.ts';

// One order's trace, read as the restaurant's stations see it: stages, self time, the critical path across Kafka, and
// where the order is. The bottleneck report aggregates these over many orders; the trace store's pages draw them.

/** Where an order spends its time: the gateway, validation, the kitchen — queue waits belong to the station that drains the queue. */
export type Station = 'gateway' | 'order validation' | 'kitchen';

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
export const isWait = (stage: string) =>
  stage.startsWith('queue ') || stage.startsWith('wait for ') || stage === 'waiting';

/** Groups spans into stages: one dish is like another, and a wait in Kafka is named by its topic. */
export function stageOf(span: FlatSpan): string {
  if (span.name.startsWith('prepare ')) return 'prepare dish';
  return span.name;
}

export function stationOfStage(stage: string, span: FlatSpan): Station {
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
interface PathSection {
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

const isOrderSend = (span: FlatSpan) =>
  span.kind === 'producer' && (topicOf(span) === 'orders.placed' || topicOf(span) === 'kitchen.tickets');

/** The state of the order a trace holds; undefined when the trace holds no order (a status query, a health check). */
export function orderState(spans: FlatSpan[]): OrderState | undefined {
  if (!spans.some(isOrderSend)) return undefined;
  if (spans.some((s) => s.name === 'cook order')) return { state: 'ready' };
  if (spans.some((s) => s.attributes['ituna.validation.result'] === 'rejected')) return { state: 'rejected' };
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
    return {
      state: 'in flight',
      where: topic,
      station: TOPIC_STATION[topic] ?? 'gateway',
      sinceMs: waiting.endMs,
      producerId: waiting.spanId,
    };
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
export function traceCriticalPath(
  spans: FlatSpan[],
  { waitingSpanId, waitingUntil }: { waitingSpanId?: string; waitingUntil?: number } = {},
): OrderPath {
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
      sections.push({
        spanId: span.spanId,
        startMs: ownEnd,
        endMs: to,
        stage: wait,
        station: stationOfStage(wait, span),
        before: before?.spanId,
      });
    }
    if (ownEnd > from)
      sections.push({ spanId: span.spanId, startMs: from, endMs: ownEnd, stage, station: stationOfStage(stage, span) });
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
        if (!next || end > nextEnd) {
          next = c;
          nextEnd = end;
        }
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
