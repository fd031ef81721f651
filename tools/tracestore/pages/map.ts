import { formatMs, formatShare } from '../../traces/format.ts';
import { escapeHtml } from '../../traces/html.ts';
import type { ServiceMap } from '../../traces/service-map.ts';
import { LIST_STYLE } from './assets.ts';
import { htmlPage } from './layout.ts';
import type { ListQuery } from './list.ts';

const [COLUMN, ROW, NODE_W, NODE_H] = [210, 92, 170, 40];

/** The service map as SVG (boxes for services, rounded for topics, arrows labelled with rate and p99) and as a table. */
export function renderMapPage(map: ServiceMap, query: ListQuery, traces: number): string {
  const columns = new Map<number, string[]>();
  for (const node of map.nodes) columns.set(node.rank, [...(columns.get(node.rank) ?? []), node.id]);
  const ranks = [...columns.keys()].sort((a, b) => a - b);
  const tallest = Math.max(1, ...[...columns.values()].map((c) => c.length));
  const at = new Map<string, { x: number; y: number }>();
  for (const [i, rank] of ranks.entries()) {
    const ids = columns.get(rank)!;
    for (const [j, id] of ids.entries())
      at.set(id, { x: 10 + i * COLUMN, y: 20 + (j + (tallest - ids.length) / 2) * ROW });
  }
  const width = 20 + ranks.length * COLUMN;
  const height = 40 + tallest * ROW;
  const kindOf = new Map(map.nodes.map((n) => [n.id, n.kind]));
  const edges = map.edges
    .map((e) => {
      const [a, b] = [at.get(e.from)!, at.get(e.to)!];
      // Forward edges leave the right side and enter the left; a backward one (statuses read by the gateway) curves below.
      const forward = b.x > a.x;
      const [x1, y1] = forward ? [a.x + NODE_W, a.y + NODE_H / 2] : [a.x + NODE_W / 2, a.y + NODE_H];
      const [x2, y2] = forward ? [b.x, b.y + NODE_H / 2] : [b.x + NODE_W / 2, b.y + NODE_H];
      const bend = forward ? `C ${x1 + 40} ${y1}, ${x2 - 40} ${y2}` : `C ${x1} ${y1 + 60}, ${x2} ${y2 + 60}`;
      const [lx, ly] = forward ? [(x1 + x2) / 2, (y1 + y2) / 2 - 6] : [(x1 + x2) / 2, Math.max(y1, y2) + 48];
      const label = `${e.perSecond.toFixed(1)}/s · p99 ${formatMs(e.duration.p99)}${e.errorRate > 0 ? ` · ${formatShare(e.errorRate)} errors` : ''}`;
      return `<g class="edge${e.errorRate > 0 ? ' failing' : ''}"><title>${escapeHtml(`${e.from} → ${e.to}: ${e.count} ${e.what}`)}</title><path d="M ${x1} ${y1} ${bend} ${x2} ${y2}" marker-end="url(#arrow)"/><text x="${lx}" y="${ly}" text-anchor="middle">${escapeHtml(label)}</text></g>`;
    })
    .join('');
  const nodes = map.nodes
    .map((n) => {
      const { x, y } = at.get(n.id)!;
      const marked = n.id === map.bottleneck ? ' bottleneck' : '';
      const round = kindOf.get(n.id) === 'topic' ? 18 : 4;
      return `<g class="node ${n.kind}${marked}"><rect x="${x}" y="${y}" width="${NODE_W}" height="${NODE_H}" rx="${round}"/><text x="${x + NODE_W / 2}" y="${y + 25}" text-anchor="middle">${escapeHtml(n.id)}${marked ? ' ◀' : ''}</text></g>`;
    })
    .join('');
  const rows = map.edges
    .map(
      (e) =>
        `<tr><td>${escapeHtml(e.from)} → ${escapeHtml(e.to)}</td><td>${e.what}</td><td class="num">${e.count}</td><td class="num">${e.perSecond.toFixed(1)}/s</td><td class="num">${formatMs(e.duration.p50)}</td><td class="num">${formatMs(e.duration.p99)}</td><td class="num">${e.wait ? `${formatMs(e.wait.p50)} / ${formatMs(e.wait.p99)}` : '—'}</td><td class="num">${formatShare(e.errorRate)}</td></tr>`,
    )
    .join('');
  const { filter } = query;
  const field = (name: string, label: string, value: string | undefined) =>
    `<label>${label}<input type="text" name="${name}" value="${escapeHtml(value ?? '')}"></label>`;
  const body = `<nav class="top"><a href="/">← all traces</a><strong>Service map</strong><span class="muted">${traces} traces, ${formatMs(map.seconds * 1000)} of spans</span></nav>
<h1>Service map</h1>
<form class="search" method="get" action="/map">
${field('run', 'run id (ituna.run.id)', filter.runId)}
${field('from', 'from (UTC)', filter.fromMs === undefined ? undefined : new Date(filter.fromMs).toISOString())}
${field('to', 'to (UTC)', filter.toMs === undefined ? undefined : new Date(filter.toMs).toISOString())}
<button type="submit">Map</button> <a href="/map">all traces</a></form>
${query.problem ? `<p class="problem">${escapeHtml(query.problem)}</p>` : ''}
${
  map.edges.length === 0
    ? '<p>No spans match.</p>'
    : `<p>${map.bottleneck ? `The bottleneck report names <strong>${escapeHtml(map.bottleneck)}</strong> (marked ◀).` : 'No bottleneck to name yet.'} Each arrow: messages or calls per second and the p99 of the span that handles them.</p>
<figure class="map"><svg viewBox="0 0 ${width} ${height}" width="${width}" role="img" aria-label="Services and Kafka topics with the calls and messages between them; the table below has the same figures">
<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerUnits="userSpaceOnUse" markerWidth="9" markerHeight="9" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z"/></marker></defs>
${edges}${nodes}</svg></figure>
<table class="traces map-edges"><thead><tr><th>edge</th><th>what</th><th>count</th><th>rate</th><th>p50</th><th>p99</th><th>wait in Kafka p50 / p99</th><th>errors</th></tr></thead><tbody>${rows}</tbody></table>`
}`;
  return htmlPage('ITuna service map', body, { style: LIST_STYLE });
}
