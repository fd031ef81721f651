import type { Comparison } from '../traces/compare-runs.ts';
import type { ConsumerGroupsView } from '../traces/consumer-groups.ts';
import { formatChange, formatMs as ms, formatShare as pct, spokenDuration } from '../traces/format.ts';
import { escapeHtml } from '../traces/html.ts';
import { isWait } from '../traces/analysis.ts';
import type { BottleneckReport, Percentiles, SlowOrder } from '../traces/run-analysis.ts';
import {
  endToEndLine,
  FROM_START_NOTE,
  groupHeadline,
  IDLE_NOTE,
  shortMemberId,
  verdictOf,
  whatChanged,
} from '../traces/wording.ts';
import type { GroupMember } from '../traces/consumer-groups.ts';

/** The same as an HTML section: a table per group, the full member ids on hover. */
function consumerGroupsHtml(view: ConsumerGroupsView | undefined): string {
  if (!view) return '';
  const { brokers, snapshot } = view;
  const heading = `<h2>Consumer groups</h2>`;
  if (!snapshot.available) {
    return `${heading}<p>Kafka at ${escapeHtml(brokers)}: unavailable — ${escapeHtml(snapshot.reason)}. The report above comes from the traces alone.</p>`;
  }
  const member = (m: GroupMember) =>
    `<td class="name">${escapeHtml(m.clientId)}</td><td class="name">${escapeHtml(m.host)}</td><td class="name" title="${escapeHtml(m.memberId)}">${escapeHtml(shortMemberId(m))}</td>`;
  const groups = snapshot.groups.map((group) => {
    const headline = `<h3>${escapeHtml(groupHeadline(group))}</h3>`;
    if (group.missingTopic) return headline;
    const rows = group.partitions
      .map(
        (p) =>
          `<tr><td>${p.partition}</td><td>${p.committed ?? '—'}</td><td>${p.end}</td><td>${p.lag}${p.fromStart ? '*' : ''}</td>${p.owner ? member(p.owner) : '<td>—</td><td></td><td></td>'}</tr>`,
      )
      .join('');
    const idle = group.idle.length
      ? `<p>Idle, owning no partition (${IDLE_NOTE}):</p><div class="scroll"><table><tr><th>client id</th><th>host</th><th>member</th></tr>${group.idle.map((m) => `<tr>${member(m)}</tr>`).join('')}</table></div>`
      : '';
    return `${headline}<div class="scroll"><table><tr><th>partition</th><th>committed</th><th>log end</th><th>lag</th><th>owner (client id)</th><th>host</th><th>member</th></tr>${rows}</table></div>${
      group.partitions.some((p) => p.fromStart) ? `<p>${escapeHtml(FROM_START_NOTE)}</p>` : ''
    }${idle}`;
  });
  return `${heading}<p>Kafka at ${escapeHtml(brokers)}; lag = log end − committed offset, per partition.</p>\n${groups.join('\n')}`;
}

/** A horizontal bar chart of critical-path share per stage. */
function shareChart(report: BottleneckReport): string {
  const rows = report.stages.filter((s) => s.share > 0.001);
  const height = rows.length * 24 + 10;
  const bars = rows
    .map((s, i) => {
      const width = Math.max(1, s.share * 480);
      return `<text x="0" y="${i * 24 + 17}">${escapeHtml(s.stage)}</text><rect x="220" y="${i * 24 + 4}" width="${width.toFixed(1)}" height="16" class="${isWait(s.stage) ? 'queue' : 'work'}"/><text x="${(226 + width).toFixed(1)}" y="${i * 24 + 17}">${pct(s.share)}</text>`;
    })
    .join('');
  return `<svg viewBox="0 0 780 ${height}" width="780" height="${height}" role="img" aria-label="critical path share per stage">${bars}</svg>`;
}

/** A histogram of one stage's self times on a log scale of milliseconds. */
function histogram(samples: number[]): string {
  const edges = [0, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, Infinity];
  const counts = new Array<number>(edges.length - 1).fill(0);
  for (const v of samples) {
    const bucket = edges.findIndex((e, i) => v >= e && v < edges[i + 1]!);
    if (bucket >= 0) counts[bucket]!++;
  }
  const peak = Math.max(1, ...counts);
  const bars = counts
    .map(
      (c, i) =>
        `<rect x="${i * 26}" y="${(60 - (c / peak) * 56).toFixed(1)}" width="22" height="${((c / peak) * 56).toFixed(1)}" class="work"><title>${edges[i]}–${edges[i + 1]} ms: ${c}</title></rect>`,
    )
    .join('');
  const labels = edges
    .slice(0, -1)
    .map((e, i) => `<text x="${i * 26}" y="74" class="axis">${e < 1 ? e : e >= 1000 ? `${e / 1000}s` : e}</text>`)
    .join('');
  return `<svg width="${14 * 26}" height="80">${bars}${labels}</svg>`;
}

const SERVICE_COLOURS: Record<string, string> = {
  'ituna-gateway': '#3b6ea5',
  'ituna-order-validation': '#5a9e5a',
  'ituna-kitchen': '#8e5ea2',
};

/** One slow order as a small waterfall: a row per span, its Kafka waits in orange; linked to its trace when `uiUrl` is set. */
function miniWaterfall(order: SlowOrder, uiUrl: string | undefined): string {
  const width = 600;
  const row = 7;
  const span = Math.max(order.totalMs, ...order.spans.map((s) => s.endMs), 1e-3);
  const x = (t: number) => ((Math.max(0, t) / span) * width).toFixed(1);
  const w = (a: number, b: number) => Math.max(0.5, ((b - a) / span) * width).toFixed(1);
  const rows = order.spans
    .map(
      (s, i) =>
        `<rect x="${x(s.startMs)}" y="${i * row}" width="${w(s.startMs, s.endMs)}" height="${row - 2}" fill="${SERVICE_COLOURS[s.service] ?? '#777'}"><title>${escapeHtml(`${s.name} (${s.service}) ${ms(s.endMs - s.startMs)}`)}</title></rect>`,
    )
    .join('');
  const waits = order.waits
    .map(
      (q) =>
        `<rect x="${x(q.startMs)}" y="0" width="${w(q.startMs, q.endMs)}" height="${order.spans.length * row}" class="queue-band"><title>${escapeHtml(`waited ${ms(q.endMs - q.startMs)} in ${q.topic}${q.open ? ', still waiting' : ''}`)}</title></rect>`,
    )
    .join('');
  const label = `${order.orderId ?? order.traceId} — ${ms(order.totalMs)}, ${order.state}${order.where ? ` (waiting in ${order.where})` : ''}`;
  const svg = `<svg viewBox="0 0 ${width} ${order.spans.length * row}" width="100%" style="max-width:${width}px" role="img" aria-label="${escapeHtml(label)}">${waits}${rows}</svg>`;
  const name = uiUrl
    ? `<a href="${escapeHtml(`${uiUrl}/trace/${encodeURIComponent(order.traceId)}`)}">${escapeHtml(label)}</a>`
    : escapeHtml(label);
  return `<figure class="mini"><figcaption>${name}</figcaption>${svg}</figure>`;
}

const STYLE = `body{font:14px system-ui,sans-serif;margin:1em;max-width:1200px}table{border-collapse:collapse}td,th{padding:3px 10px;text-align:right;border-bottom:1px solid #ddd}
td:first-child,th:first-child{text-align:left}svg text{font:12px system-ui,sans-serif}.axis{font-size:9px;fill:#666}.work{fill:#3b6ea5}.queue{fill:#d9822b}
.queue-band{fill:#d9822b;opacity:.35}.verdict{font-size:18px;padding:12px;background:#fff4e0;border-left:4px solid #d9822b}.scroll{overflow-x:auto}
.mini{margin:0 0 14px}td.name{text-align:left}.mini figcaption{margin-bottom:3px}.better{color:#1a7f37}.worse{color:#b42318}
@media (max-width:700px){body{margin:.5em}svg{max-width:100%;height:auto}}`;

const shell = (title: string, body: string) => `<!doctype html>
<html lang="en"><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title>
<style>
${STYLE}
</style>
${body}
</html>
`;

/** What the HTML report links to (the trace viewer, Jaeger UI or the embedded store, and the run shown), and the consumer groups it shows. */
export interface HtmlLinks {
  uiUrl?: string;
  runId?: string;
  consumerGroups?: ConsumerGroupsView;
}

/** The report as one HTML file with inline SVG charts: it opens in a browser without any network access. */
export function renderHtml(
  report: BottleneckReport,
  title: string,
  { uiUrl, runId, consumerGroups }: HtmlLinks = {},
): string {
  const stageRows = report.stages
    .map(
      (s) =>
        `<tr><td>${escapeHtml(s.stage)}</td><td>${s.station}</td><td>${s.self.count}</td><td>${ms(s.self.p50)}</td><td>${ms(s.self.p95)}</td><td>${ms(s.self.p99)}</td><td>${pct(s.share)}</td><td>${histogram(s.samples)}</td></tr>`,
    )
    .join('');
  const queueRows = report.queues
    .map(
      (q) =>
        `<tr><td>${escapeHtml(q.topic)}</td><td>${q.wait.count}</td><td>${ms(q.wait.p50)}</td><td>${ms(q.wait.p95)}</td><td>${ms(q.wait.p99)}</td><td>${q.open}</td></tr>`,
    )
    .join('');
  const stuck = report.inFlight.places
    .map((p) => `<li>${escapeHtml(p.where)}: ${p.count} orders, oldest waiting ${spokenDuration(p.oldestMs)}</li>`)
    .join('');
  const list =
    uiUrl && runId
      ? `<p><a href="${escapeHtml(`${uiUrl}/?run=${encodeURIComponent(runId)}`)}">All traces of this run</a> (the embedded trace store's list)</p>`
      : '';
  return shell(
    `ITuna bottleneck report — ${title}`,
    `<h1>ITuna bottleneck report</h1>
<p>${escapeHtml(title)} · ${report.traces} traces · ${report.orders} orders · ${report.ready} ready · ${report.rejected} rejected · ${report.inFlight.count} in flight</p>
<p class="verdict">${escapeHtml(verdictOf(report))}</p>
<h2>End to end, finished orders (HTTP call → ready/rejected)</h2>
<p>${escapeHtml(endToEndLine(report.endToEnd).replace(/ {2}/g, ' · '))}</p>
${stuck ? `<h2>In flight</h2><p>Their open waits run to the time of the report.</p><ul>${stuck}</ul>` : ''}
<h2>Share of the orders' critical path</h2>
<p>Blue: work; orange: waiting (in Kafka, or for a chef).</p>
<div class="scroll">${shareChart(report)}</div>
<h2>Slowest orders</h2>
<p>One row per span, coloured by service (gateway blue, validation green, kitchen purple); orange bands: time in Kafka.</p>
${list}
${report.slowest.map((o) => miniWaterfall(o, uiUrl)).join('\n')}
<h2>Stages (self time)</h2>
<div class="scroll"><table><tr><th>stage</th><th>station</th><th>count</th><th>p50</th><th>p95</th><th>p99</th><th>critical path</th><th>distribution (ms)</th></tr>${stageRows}</table></div>
<h2>Time messages waited in Kafka</h2>
<div class="scroll"><table><tr><th>topic</th><th>messages</th><th>p50</th><th>p95</th><th>p99</th><th>still waiting</th></tr>${queueRows}</table></div>
${consumerGroupsHtml(consumerGroups)}`,
  );
}

const changeCell = (before: number | undefined, after: number | undefined) => {
  if (before === undefined || after === undefined) return '<td>—</td>';
  const text = formatChange(before, after);
  return `<td class="${after < before ? 'better' : after > before ? 'worse' : ''}">${text}</td>`;
};

/** Two runs side by side as one HTML file: the differences in words, then every stage and queue. */
export function renderCompareHtml(comparison: Comparison, { uiUrl, consumerGroups }: HtmlLinks = {}): string {
  const { baseline, current } = comparison;
  const [b, a] = [escapeHtml(baseline.title), escapeHtml(current.title)];
  const cells = (p: Percentiles | undefined) =>
    p && p.count > 0
      ? `<td>${ms(p.p50)}</td><td>${ms(p.p95)}</td><td>${ms(p.p99)}</td>`
      : '<td>—</td><td>—</td><td>—</td>';
  const stageRows = comparison.stages
    .map(
      (row) =>
        `<tr><td>${escapeHtml(row.stage)}</td><td>${row.station}</td>${cells(row.before?.self)}<td>${row.before ? pct(row.before.share) : '—'}</td>${cells(row.after?.self)}<td>${row.after ? pct(row.after.share) : '—'}</td>${changeCell(row.before?.self.p95, row.after?.self.p95)}${changeCell(row.before?.share, row.after?.share)}</tr>`,
    )
    .join('');
  const queueRows = comparison.queues
    .map(
      (q) =>
        `<tr><td>${escapeHtml(q.topic)}</td>${cells(q.before)}${cells(q.after)}${changeCell(q.before?.p95, q.after?.p95)}</tr>`,
    )
    .join('');
  const e2e = (r: BottleneckReport) => escapeHtml(endToEndLine(r.endToEnd).replace(/ {2}/g, ' · '));
  return shell(
    `ITuna bottleneck report — ${current.title} against ${baseline.title}`,
    `<h1>ITuna: ${a} against ${b}</h1>
<p class="verdict">${whatChanged(comparison).map(escapeHtml).join('<br>')}</p>
<table><tr><th></th><th>orders</th><th>end to end, finished orders</th><th>verdict</th></tr>
<tr><td>${b}</td><td>${baseline.report.orders}</td><td>${e2e(baseline.report)}</td><td style="text-align:left">${escapeHtml(verdictOf(baseline.report))}</td></tr>
<tr><td>${a}</td><td>${current.report.orders}</td><td>${e2e(current.report)}</td><td style="text-align:left">${escapeHtml(verdictOf(current.report))}</td></tr></table>
<h2>Stages (self time, share of the critical path)</h2>
<div class="scroll"><table><tr><th rowspan="2">stage</th><th rowspan="2">station</th><th colspan="4">${b}</th><th colspan="4">${a}</th><th colspan="2">change</th></tr>
<tr><th>p50</th><th>p95</th><th>p99</th><th>share</th><th>p50</th><th>p95</th><th>p99</th><th>share</th><th>p95</th><th>share</th></tr>${stageRows}</table></div>
<h2>Time messages waited in Kafka</h2>
<div class="scroll"><table><tr><th rowspan="2">topic</th><th colspan="3">${b}</th><th colspan="3">${a}</th><th rowspan="2">p95 change</th></tr>
<tr><th>p50</th><th>p95</th><th>p99</th><th>p50</th><th>p95</th><th>p99</th></tr>${queueRows}</table></div>
<h2>Slowest orders of ${a}</h2>
${current.report.slowest.map((o) => miniWaterfall(o, uiUrl)).join('\n')}
<h2>Slowest orders of ${b}</h2>
${baseline.report.slowest.map((o) => miniWaterfall(o, uiUrl)).join('\n')}
${consumerGroupsHtml(consumerGroups)}`,
  );
}
