import { formatShare } from '../../traces/format.ts';
import { traceGraph } from '../../traces/graph.ts';
import { escapeHtml } from '../../traces/html.ts';
import type { FlatSpan } from '../../traces/otlp.ts';
import { duration } from './layout.ts';

const [COLUMN, ROW, NODE_W, NODE_H] = [310, 64, 210, 44];
/** Beyond this many operations the drawing would not be read; the table below still lists them all. */
const MAX_DRAWN = 200;

const short = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/**
 * The trace as a graph: a node per operation and service (repeated ones folded, with a count), parent → child edges,
 * Kafka hops labelled with topic and wait, self time and share of the critical path on each node, the path in bold.
 * Laid out here in columns by depth — a trace is nearly a tree, so no layout library is needed — and drawn as SVG.
 */
export function renderTraceGraph(spans: FlatSpan[], colours: Map<string, string>): string {
  const { nodes, edges } = traceGraph(spans);
  const order = new Map(spans.map((s, i) => [`${s.service}\u0000${s.name}`, i]));
  const drawn = [...nodes]
    .sort((a, b) => a.depth - b.depth || (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0))
    .slice(0, MAX_DRAWN);
  const rows = new Map<number, number>();
  const at = new Map<string, { x: number; y: number }>();
  for (const node of drawn) {
    const row = rows.get(node.depth) ?? 0;
    rows.set(node.depth, row + 1);
    at.set(node.id, { x: 10 + node.depth * COLUMN, y: 10 + row * ROW });
  }
  const width = 20 + (Math.max(0, ...drawn.map((n) => n.depth)) + 1) * COLUMN;
  const height = 20 + Math.max(1, ...rows.values()) * ROW;
  const lines = edges
    .filter((e) => at.has(e.from) && at.has(e.to))
    .map((e) => {
      const [a, b] = [at.get(e.from)!, at.get(e.to)!];
      const [x1, y1, x2, y2] = [a.x + NODE_W, a.y + NODE_H / 2, b.x, b.y + NODE_H / 2];
      const label = e.kafka
        ? `${e.kafka.topic} · waited ${duration(e.kafka.waitMs)}`
        : e.count > 1
          ? `×${e.count}`
          : '';
      return `<g class="gedge${e.onPath ? ' path' : ''}${e.kafka ? ' kafka' : ''}"><path d="M ${x1} ${y1} C ${x1 + 24} ${y1}, ${x2 - 24} ${y2}, ${x2} ${y2}" marker-end="url(#garrow)"/>${label ? `<text x="${(x1 + x2) / 2}" y="${(y1 + y2) / 2 - 4}" text-anchor="middle">${escapeHtml(label)}</text>` : ''}</g>`;
    })
    .join('');
  const boxes = drawn
    .map((n) => {
      const { x, y } = at.get(n.id)!;
      const title = `${n.name}${n.count > 1 ? ` ×${n.count}` : ''}`;
      return `<g class="gnode${n.onPath ? ' path' : ''}${n.follower ? ' follower' : ''}"><title>${escapeHtml(`${title} — ${n.service}: self ${duration(n.selfMs)}, ${formatShare(n.pathShare)} of the critical path`)}</title><rect x="${x}" y="${y}" width="${NODE_W}" height="${NODE_H}" rx="4" style="stroke:${colours.get(n.service) ?? '#6b7280'}"/><text x="${x + 8}" y="${y + 18}">${escapeHtml(short(title, 30))}</text><text class="sub" x="${x + 8}" y="${y + 35}">self ${escapeHtml(duration(n.selfMs))} · path ${formatShare(n.pathShare)}</text></g>`;
    })
    .join('');
  const table = [...nodes]
    .sort((a, b) => b.pathShare - a.pathShare || b.selfMs - a.selfMs)
    .map(
      (n) =>
        `<tr${n.onPath ? ' class="on-path"' : ''}><td>${escapeHtml(n.name)}</td><td>${escapeHtml(n.service)}</td><td class="num">${n.count}</td><td class="num">${duration(n.selfMs)}</td><td class="num">${formatShare(n.pathShare)}</td></tr>`,
    )
    .join('');
  const hops = edges
    .filter((e) => e.kafka)
    .map(
      (e) =>
        `<li>${escapeHtml(e.kafka!.topic)}: waited ${duration(e.kafka!.waitMs)}${e.onPath ? ' (on the critical path)' : ''}</li>`,
    )
    .join('');
  return `<p class="muted">One box per operation and service (repeats folded, ×count); arrows from parent to child; Kafka hops labelled with the topic and the wait; the critical path in bold.${nodes.length > MAX_DRAWN ? ` The first ${MAX_DRAWN} of ${nodes.length} operations are drawn; the table lists all.` : ''}</p>
<figure class="graph"><svg viewBox="0 0 ${width} ${height}" width="${width}" role="img" aria-label="The trace's operations as a graph; the table below lists them">
<defs><marker id="garrow" viewBox="0 0 10 10" refX="10" refY="5" markerUnits="userSpaceOnUse" markerWidth="9" markerHeight="9" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z"/></marker></defs>
${lines}${boxes}</svg></figure>
${hops ? `<h2>Kafka hops</h2><ul class="hops">${hops}</ul>` : ''}
<table class="graph-nodes"><thead><tr><th>operation</th><th>service</th><th>spans</th><th>self time</th><th>critical path</th></tr></thead><tbody>${table}</tbody></table>`;
}
