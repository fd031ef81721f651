import { isFollowerSpan, selfTime, traceCriticalPath } from './analysis.ts';
import type { FlatSpan } from './otlp.ts';
import { childrenByParent, topicOf } from './tree.ts';

/** One operation of one service in a trace; repeated spans of it folded into one node. */
export interface GraphNode {
  id: string;
  name: string;
  service: string;
  count: number;
  /** Sum of the spans' self time. */
  selfMs: number;
  /** Share of the trace's critical path spent in these spans (0 when none is on it). */
  pathShare: number;
  onPath: boolean;
  /** Longest number of steps from a root: the layout's column. */
  depth: number;
  /** Followers' spans (reading orders.status after the fact). */
  follower: boolean;
}

/** Parent → child, folded; a Kafka hop (producer → consumer) carries its topic and how long the messages waited. */
export interface GraphEdge {
  from: string;
  to: string;
  count: number;
  kafka?: { topic: string; waitMs: number };
  onPath: boolean;
}

/** A trace as a directed graph of its operations, with the critical path marked. */
export function traceGraph(spans: FlatSpan[]): { nodes: GraphNode[]; edges: GraphEdge[] } {
  const keyOf = (s: FlatSpan) => `${s.service}\u0000${s.name}`;
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const children = childrenByParent(spans);
  const path = traceCriticalPath(spans);
  const pathMs = new Map<string, number>();
  for (const section of path.sections) {
    // A wait in Kafka is the hop's, not a node's: it is shown on the edge.
    if (section.stage.startsWith('queue ')) continue;
    pathMs.set(section.spanId, (pathMs.get(section.spanId) ?? 0) + section.endMs - section.startMs);
  }
  const onPathSpans = new Set(path.sections.flatMap((s) => [s.spanId, ...(s.before ? [s.before] : [])]));
  const nodes = new Map<string, GraphNode>();
  for (const span of spans) {
    const id = keyOf(span);
    const node = nodes.get(id) ?? {
      id,
      name: span.name,
      service: span.service,
      count: 0,
      selfMs: 0,
      pathShare: 0,
      onPath: false,
      depth: 0,
      follower: isFollowerSpan(span),
    };
    node.count++;
    node.selfMs += selfTime(span, children.get(span.spanId) ?? []);
    node.pathShare += (pathMs.get(span.spanId) ?? 0) / Math.max(path.totalMs, 1e-9);
    node.onPath ||= onPathSpans.has(span.spanId);
    nodes.set(id, node);
  }
  const edges = new Map<string, GraphEdge & { waits: number[]; topic?: string }>();
  for (const span of spans) {
    const parent = span.parentSpanId ? byId.get(span.parentSpanId) : undefined;
    if (!parent) continue;
    const key = `${keyOf(parent)}\u0001${keyOf(span)}`;
    const edge = edges.get(key) ?? { from: keyOf(parent), to: keyOf(span), count: 0, onPath: false, waits: [] };
    edge.count++;
    edge.onPath ||= onPathSpans.has(span.spanId) && onPathSpans.has(parent.spanId);
    if (parent.kind === 'producer' && span.kind === 'consumer') {
      edge.waits.push(Math.max(0, span.startMs - parent.endMs));
      edge.topic = topicOf(span);
    }
    edges.set(key, edge);
  }
  // Depth: the longest chain of edges from a root, so a hop across Kafka always moves right (memoised; a cycle,
  // which a well-formed trace never has, counts as a root).
  const incoming = new Map<string, string[]>();
  for (const e of edges.values()) incoming.set(e.to, [...(incoming.get(e.to) ?? []), e.from]);
  const depths = new Map<string, number>();
  const depthOf = (id: string, visiting: Set<string>): number => {
    const known = depths.get(id);
    if (known !== undefined) return known;
    if (visiting.has(id)) return 0;
    visiting.add(id);
    const parents = incoming.get(id) ?? [];
    const depth = parents.length === 0 ? 0 : 1 + Math.max(...parents.map((p) => depthOf(p, visiting)));
    visiting.delete(id);
    depths.set(id, depth);
    return depth;
  };
  for (const node of nodes.values()) node.depth = depthOf(node.id, new Set());
  return {
    nodes: [...nodes.values()],
    edges: [...edges.values()].map(({ waits, topic, ...edge }) =>
      topic === undefined ? edge : { ...edge, kafka: { topic, waitMs: Math.max(...waits) } },
    ),
  };
}
