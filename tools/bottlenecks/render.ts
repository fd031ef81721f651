import { isWait } from '../traces/analysis.ts';
import { spokenDuration } from '../traces/format.ts';
import { escapeHtml } from '../traces/html.ts';
import type { BottleneckReport, Percentiles, SlowOrder } from './analyze.ts';
import type { Comparison } from './compare.ts';
import type { ConsumerGroupsSnapshot, GroupLag, GroupMember } from './consumer-groups.ts';
import { formatChange, formatMs as ms, formatShare as pct } from '../traces/format.ts';

/** A text table: names aligned left, figures right; by default only the first column holds names. */
function table(
  header: string[],
  rows: string[][],
  left: (column: number) => boolean = (column) => column === 0,
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (left(i) ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** A change of share in percentage points, with a true minus: "−79.2 pt". */
const signedPoints = (change: number) => {
  const points = Math.round(change * 1000) / 10;
  return points === 0 ? '±0 pt' : `${points > 0 ? '+' : '−'}${Math.abs(points).toFixed(1)} pt`;
};

const latency = (p: Percentiles) => [String(p.count), ms(p.p50), ms(p.p95), ms(p.p99)];

/** End-to-end figures exist only for finished orders: "—" when none finished. */
const endToEndLine = (e2e: Percentiles) =>
  e2e.count === 0
    ? '— (no order finished yet)'
    : `p50 ${ms(e2e.p50)}  p95 ${ms(e2e.p95)}  p99 ${ms(e2e.p99)}  max ${ms(e2e.max)}`;

const countsLine = (report: BottleneckReport) =>
  `${report.traces} traces: ${report.orders} orders — ${report.ready} ready, ${report.rejected} rejected, ${report.inFlight.count} in flight`;

/** The report as terminal text: stages, queues, end-to-end latency and the verdict. */
export function renderText(report: BottleneckReport, title: string): string {
  const stages = table(
    ['stage', 'station', 'count', 'self p50', 'self p95', 'self p99', 'critical path'],
    report.stages.map((s) => [s.stage, s.station, ...latency(s.self), pct(s.share)]),
  );
  const open = report.queues.some((q) => q.open > 0);
  const queues = table(
    ['topic', 'messages', 'wait p50', 'wait p95', 'wait p99', ...(open ? ['still waiting'] : [])],
    report.queues.map((q) => [q.topic, ...latency(q.wait), ...(open ? [String(q.open)] : [])]),
  );
  const stuck = report.inFlight.places.map(
    (p) => `  ${p.where}: ${p.count} orders, oldest waiting ${spokenDuration(p.oldestMs)} (trace ${p.oldestTraceId})`,
  );
  return [
    `ITuna bottleneck report — ${title}`,
    countsLine(report),
    `End to end, finished orders (HTTP call → ready/rejected): ${endToEndLine(report.endToEnd)}`,
    ...(stuck.length ? ['In flight (open waits run to now):', ...stuck] : []),
    '',
    "Stages (self time; share of all orders' critical paths, queue waits included):",
    stages,
    '',
    `Time messages waited in Kafka (consumer start − message timestamp${open ? '; orders in flight: until now' : ''}):`,
    queues,
    '',
    `Stations: ${report.stations.map((s) => `${s.station} ${pct(s.share)}`).join(', ')}`,
    '',
    report.verdict,
  ].join('\n');
}

/** Two runs side by side (baseline → current), then the differences in words. */
export function renderCompareText(comparison: Comparison): string {
  const { baseline, current } = comparison;
  const cell = (p: Percentiles | undefined, key: 'p50' | 'p95' | 'p99') => (p && p.count > 0 ? ms(p[key]) : '—');
  const stages = table(
    [
      'stage',
      'station',
      'p50',
      'p95',
      'p99',
      'share',
      '→ p50',
      '→ p95',
      '→ p99',
      '→ share',
      'p95 change',
      'share change',
    ],
    comparison.stages.map((row) => {
      const [b, a] = [row.before, row.after];
      return [
        row.stage,
        row.station,
        cell(b?.self, 'p50'),
        cell(b?.self, 'p95'),
        cell(b?.self, 'p99'),
        b ? pct(b.share) : '—',
        cell(a?.self, 'p50'),
        cell(a?.self, 'p95'),
        cell(a?.self, 'p99'),
        a ? pct(a.share) : '—',
        b && a ? formatChange(b.self.p95, a.self.p95) : '—',
        signedPoints((a?.share ?? 0) - (b?.share ?? 0)),
      ];
    }),
  );
  const queues = table(
    ['topic', 'wait p50', 'wait p95', 'wait p99', '→ p50', '→ p95', '→ p99', 'p95 change'],
    comparison.queues.map((q) => [
      q.topic,
      cell(q.before, 'p50'),
      cell(q.before, 'p95'),
      cell(q.before, 'p99'),
      cell(q.after, 'p50'),
      cell(q.after, 'p95'),
      cell(q.after, 'p99'),
      q.before && q.after ? formatChange(q.before.p95, q.after.p95) : '—',
    ]),
  );
  return [
    `ITuna bottleneck report — ${current.title} against ${baseline.title} (figures: ${baseline.title} → ${current.title})`,
    `${baseline.title}: ${countsLine(baseline.report)}`,
    `${current.title}: ${countsLine(current.report)}`,
    `End to end, finished orders: ${baseline.title} ${endToEndLine(baseline.report.endToEnd)}`,
    `                             ${current.title} ${endToEndLine(current.report.endToEnd)}`,
    '',
    'What changed:',
    ...comparison.statements.map((s) => `  ${s}`),
    '',
    `Stages (self time and critical-path share; ${baseline.title}, then → ${current.title}):`,
    stages,
    '',
    'Time messages waited in Kafka:',
    queues,
    '',
    `${baseline.title}: ${baseline.report.verdict}`,
    `${current.title}: ${current.report.verdict}`,
  ].join('\n');
}

/** The consumer groups as the report shows them: what Kafka answered, and where it was asked. */
export interface ConsumerGroupsView {
  brokers: string;
  snapshot: ConsumerGroupsSnapshot;
}

/** A member id without its client id prefix, cut to 8 characters: enough to tell the members of one host apart. */
export const shortMemberId = (member: GroupMember) =>
  (member.memberId.startsWith(`${member.clientId}-`)
    ? member.memberId.slice(member.clientId.length + 1)
    : member.memberId
  ).slice(0, 8);

const plural = (count: number, one: string, many = `${one}s`) => `${count} ${count === 1 ? one : many}`;

/** A group's state in words, with its members against its partitions. */
function groupState(group: GroupLag): string {
  const members = `${plural(group.members.length, 'member')} for ${plural(group.partitions.length, 'partition')}`;
  switch (group.state) {
    case 'Stable':
      return group.members.length > group.partitions.length ? `${members}: more members than partitions` : members;
    case 'Empty':
      return 'no member: nothing consumes it now (its committed offsets are kept)';
    case 'Dead':
      return 'no such group: nothing has joined it yet, or its offsets expired';
    case 'PreparingRebalance':
    case 'CompletingRebalance':
      return `rebalancing (${members}): owners are being handed out again`;
    default:
      return `${group.state}, ${members}`;
  }
}

const groupHeadline = (group: GroupLag) =>
  group.missingTopic
    ? `${group.groupId} on ${group.topic}: the topic does not exist yet (a service creates it when it starts)`
    : `${group.groupId} on ${group.topic}: ${groupState(group)}; lag ${plural(group.lag, 'message')}`;

const FROM_START_NOTE =
  "* no committed offset yet: lag counted from the partition's start offset (the workers read from the beginning)";
const IDLE_NOTE = 'a partition is read by one member of a group at a time, so these have nothing to consume';

/** Each consumer group's lag per partition and the member that owns it, idle members named. */
export function renderConsumerGroupsText({ brokers, snapshot }: ConsumerGroupsView): string {
  if (!snapshot.available) {
    return `Consumer groups (Kafka at ${brokers}): unavailable — ${snapshot.reason}. The report above comes from the traces alone.`;
  }
  const sections = snapshot.groups.map((group) => {
    if (group.missingTopic) return groupHeadline(group);
    const rows = group.partitions.map((p) => [
      String(p.partition),
      p.committed === undefined ? '—' : String(p.committed),
      String(p.end),
      `${p.lag}${p.fromStart ? '*' : ''}`,
      p.owner?.clientId ?? '—',
      p.owner?.host ?? '',
      p.owner ? shortMemberId(p.owner) : '',
    ]);
    const idle = group.idle.map((m) => `  ${m.clientId} at ${m.host}, member ${shortMemberId(m)}`);
    return [
      groupHeadline(group),
      table(
        ['partition', 'committed', 'log end', 'lag', 'owner (client id)', 'host', 'member'],
        rows,
        (column) => column === 0 || column >= 4,
      ),
      ...(group.partitions.some((p) => p.fromStart) ? [FROM_START_NOTE] : []),
      ...(idle.length ? [`Idle, owning no partition (${IDLE_NOTE}):`, ...idle] : []),
    ].join('\n');
  });
  return [`Consumer groups (Kafka at ${brokers}; lag = log end − committed offset, per partition):`, ...sections].join(
    '\n\n',
  );
}

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
<p class="verdict">${escapeHtml(report.verdict)}</p>
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
<p class="verdict">${comparison.statements.map(escapeHtml).join('<br>')}</p>
<table><tr><th></th><th>orders</th><th>end to end, finished orders</th><th>verdict</th></tr>
<tr><td>${b}</td><td>${baseline.report.orders}</td><td>${e2e(baseline.report)}</td><td style="text-align:left">${escapeHtml(baseline.report.verdict)}</td></tr>
<tr><td>${a}</td><td>${current.report.orders}</td><td>${e2e(current.report)}</td><td style="text-align:left">${escapeHtml(current.report.verdict)}</td></tr></table>
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
