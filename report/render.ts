import { isWait } from './analyze.ts';
import { escapeHtml } from '../traces/html.ts';
import type { BottleneckReport, Percentiles } from './analyze.ts';

const ms = (value: number) => (value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${value.toFixed(1)} ms`);
const pct = (value: number) => `${(value * 100).toFixed(1)}%`;

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const latency = (p: Percentiles) => [String(p.count), ms(p.p50), ms(p.p95), ms(p.p99)];

/** The report as terminal text: stages, queues, end-to-end latency and the verdict. */
export function renderText(report: BottleneckReport, title: string): string {
  const stages = table(
    ['stage', 'station', 'count', 'self p50', 'self p95', 'self p99', 'critical path'],
    report.stages.map((s) => [s.stage, s.station, ...latency(s.self), pct(s.share)]),
  );
  const queues = table(
    ['topic', 'messages', 'wait p50', 'wait p95', 'wait p99'],
    report.queues.map((q) => [q.topic, ...latency(q.wait)]),
  );
  const e2e = report.endToEnd;
  return [
    `ITuna bottleneck report — ${title}`,
    `${report.traces} traces: ${report.ready} orders ready, ${report.rejected} rejected`,
    `End to end (HTTP call → ready/rejected): p50 ${ms(e2e.p50)}  p95 ${ms(e2e.p95)}  p99 ${ms(e2e.p99)}  max ${ms(e2e.max)}`,
    '',
    'Stages (self time; share of all orders\' critical paths, queue waits included):',
    stages,
    '',
    'Time messages waited in Kafka (consumer start − message timestamp):',
    queues,
    '',
    `Stations: ${report.stations.map((s) => `${s.station} ${pct(s.share)}`).join(', ')}`,
    '',
    report.verdict,
  ].join('\n');
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
  return `<svg width="780" height="${height}" role="img" aria-label="critical path share per stage">${bars}</svg>`;
}

/** A histogram of one stage's self times on a log scale of milliseconds. */
function histogram(samples: number[]): string {
  const edges = [0, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, Infinity];
  const counts = edges.slice(0, -1).map((low, i) => samples.filter((v) => v >= low && v < edges[i + 1]!).length);
  const peak = Math.max(1, ...counts);
  const bars = counts
    .map((c, i) => `<rect x="${i * 26}" y="${(60 - (c / peak) * 56).toFixed(1)}" width="22" height="${((c / peak) * 56).toFixed(1)}" class="work"><title>${edges[i]}–${edges[i + 1]} ms: ${c}</title></rect>`)
    .join('');
  const labels = edges.slice(0, -1).map((e, i) => `<text x="${i * 26}" y="74" class="axis">${e < 1 ? e : e >= 1000 ? `${e / 1000}s` : e}</text>`).join('');
  return `<svg width="${14 * 26}" height="80">${bars}${labels}</svg>`;
}

/** The report as one HTML file with inline SVG charts: it opens in a browser without any network access. */
export function renderHtml(report: BottleneckReport, title: string): string {
  const stageRows = report.stages
    .map((s) => `<tr><td>${escapeHtml(s.stage)}</td><td>${s.station}</td><td>${s.self.count}</td><td>${ms(s.self.p50)}</td><td>${ms(s.self.p95)}</td><td>${ms(s.self.p99)}</td><td>${pct(s.share)}</td><td>${histogram(s.samples)}</td></tr>`)
    .join('');
  const queueRows = report.queues.map((q) => `<tr><td>${q.topic}</td><td>${q.wait.count}</td><td>${ms(q.wait.p50)}</td><td>${ms(q.wait.p95)}</td><td>${ms(q.wait.p99)}</td></tr>`).join('');
  const e2e = report.endToEnd;
  return `<!doctype html>
<html lang="en"><meta charset="utf-8"><title>ITuna bottleneck report — ${escapeHtml(title)}</title>
<style>
body{font:14px system-ui,sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse}td,th{padding:3px 10px;text-align:right;border-bottom:1px solid #ddd}
td:first-child,th:first-child{text-align:left}svg text{font:12px system-ui,sans-serif}.axis{font-size:9px;fill:#666}.work{fill:#3b6ea5}.queue{fill:#d9822b}
.verdict{font-size:18px;padding:12px;background:#fff4e0;border-left:4px solid #d9822b}
</style>
<h1>ITuna bottleneck report</h1>
<p>${escapeHtml(title)} · ${report.traces} traces · ${report.ready} ready · ${report.rejected} rejected</p>
<p class="verdict">${escapeHtml(report.verdict)}</p>
<h2>End to end (HTTP call → ready/rejected)</h2>
<p>p50 ${ms(e2e.p50)} · p95 ${ms(e2e.p95)} · p99 ${ms(e2e.p99)} · max ${ms(e2e.max)}</p>
<h2>Share of the orders' critical path</h2>
<p>Blue: work; orange: waiting (in Kafka, or for a chef).</p>
${shareChart(report)}
<h2>Stages (self time)</h2>
<table><tr><th>stage</th><th>station</th><th>count</th><th>p50</th><th>p95</th><th>p99</th><th>critical path</th><th>distribution (ms)</th></tr>${stageRows}</table>
<h2>Time messages waited in Kafka</h2>
<table><tr><th>topic</th><th>messages</th><th>p50</th><th>p95</th><th>p99</th></tr>${queueRows}</table>
</html>
`;
}
