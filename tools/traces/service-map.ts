import type { Station } from './analysis.ts';
import type { FlatSpan } from './otlp.ts';
import { percentiles } from './percentiles.ts';
import type { Percentiles } from './percentiles.ts';
import { topicOf } from './tree.ts';

/** A node of the map: a service, a Kafka topic, or the clients that call in. */
interface MapNode {
  id: string;
  kind: 'client' | 'service' | 'topic';
  /** Steps from the clients, for the layout: clients 0, the gateway 1, its topics 2, … */
  rank: number;
}

/** Calls or messages from one node to another, with their duration and errors. */
interface MapEdge {
  from: string;
  to: string;
  /** What the count counts: HTTP calls, messages sent, messages processed. */
  what: 'calls' | 'sent' | 'processed';
  count: number;
  perSecond: number;
  /** The span's duration: the HTTP server span, the producer span, the consumer's process span. */
  duration: Percentiles;
  /** For messages processed: how long they waited in Kafka (producer end → consumer start, when both are kept). */
  wait?: Percentiles;
  errorRate: number;
}

/** Who calls whom and what flows through which topic, over the spans of some time range or run. */
export interface ServiceMap {
  nodes: MapNode[];
  edges: MapEdge[];
  /** The time the spans cover, in seconds (for the rates). */
  seconds: number;
  /** The service the bottleneck report names, when one was given. */
  bottleneck?: string;
}

const SERVICE_OF_STATION: Record<Station, string> = {
  gateway: 'ituna-gateway',
  'order validation': 'ituna-order-validation',
  kitchen: 'ituna-kitchen',
};

/** The service that is a station of the report (the bottleneck's station on the map). */
const serviceOfStation = (station: Station) => SERVICE_OF_STATION[station];

/** Derives the map from stored spans: a client edge per root HTTP server span, a service → topic edge per producer span, a topic → service edge per consumer span. */
export function serviceMap(traces: FlatSpan[][], { bottleneck }: { bottleneck?: Station } = {}): ServiceMap {
  const edges = new Map<
    string,
    { from: string; to: string; what: MapEdge['what']; durations: number[]; waits: number[]; errors: number }
  >();
  let [first, last] = [Infinity, -Infinity];
  const kinds = new Map<string, MapNode['kind']>();
  const edge = (from: string, to: string, what: MapEdge['what']) => {
    const key = `${from}\u0000${to}`;
    let found = edges.get(key);
    if (!found) {
      found = { from, to, what, durations: [], waits: [], errors: 0 };
      edges.set(key, found);
    }
    return found;
  };
  for (const spans of traces) {
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    for (const span of spans) {
      first = Math.min(first, span.startMs);
      last = Math.max(last, span.endMs);
      const parent = span.parentSpanId ? byId.get(span.parentSpanId) : undefined;
      let found: ReturnType<typeof edge> | undefined;
      if (span.kind === 'server' && parent?.kind !== 'client') {
        kinds.set('clients', 'client');
        found = edge('clients', span.service, 'calls');
      } else if (span.kind === 'server' && parent) {
        found = edge(parent.service, span.service, 'calls');
      } else if (span.kind === 'producer') {
        kinds.set(topicOf(span), 'topic');
        found = edge(span.service, topicOf(span), 'sent');
      } else if (span.kind === 'consumer') {
        kinds.set(topicOf(span), 'topic');
        found = edge(topicOf(span), span.service, 'processed');
        if (parent?.kind === 'producer') found.waits.push(Math.max(0, span.startMs - parent.endMs));
      }
      if (!found) continue;
      kinds.set(span.service, kinds.get(span.service) ?? 'service');
      found.durations.push(span.durationMs);
      if (span.status.code === 'error') found.errors++;
    }
  }
  const seconds = Number.isFinite(first) ? Math.max(1e-3, (last - first) / 1000) : 0;
  const list: MapEdge[] = [...edges.values()].map((e) => ({
    from: e.from,
    to: e.to,
    what: e.what,
    count: e.durations.length,
    perSecond: seconds > 0 ? e.durations.length / seconds : 0,
    duration: percentiles(e.durations),
    ...(e.waits.length > 0 ? { wait: percentiles(e.waits) } : {}),
    errorRate: e.durations.length > 0 ? e.errors / e.durations.length : 0,
  }));
  // Ranks by breadth-first steps from the clients; what no client reaches goes after the rest.
  const rank = new Map<string, number>();
  const queue = kinds.has('clients') ? ['clients'] : [];
  rank.set('clients', 0);
  while (queue.length > 0) {
    const node = queue.shift()!;
    for (const e of list)
      if (e.from === node && !rank.has(e.to)) {
        rank.set(e.to, rank.get(node)! + 1);
        queue.push(e.to);
      }
  }
  const deepest = Math.max(0, ...rank.values());
  const nodes = [...kinds]
    .map(([id, kind]) => ({ id, kind, rank: rank.get(id) ?? deepest + 1 }))
    .sort((a, b) => a.rank - b.rank || a.id.localeCompare(b.id));
  list.sort(
    (a, b) =>
      (rank.get(a.from) ?? 99) - (rank.get(b.from) ?? 99) || a.from.localeCompare(b.from) || a.to.localeCompare(b.to),
  );
  return { nodes, edges: list, seconds, ...(bottleneck ? { bottleneck: serviceOfStation(bottleneck) } : {}) };
}
