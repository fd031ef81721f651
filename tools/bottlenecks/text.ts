import type { Comparison } from '../traces/compare-runs.ts';
import type { ConsumerGroupsView } from '../traces/consumer-groups.ts';
import { formatChange, formatMs as ms, formatShare as pct, spokenDuration } from '../traces/format.ts';
import type { BottleneckReport, Percentiles } from '../traces/run-analysis.ts';
import type { ServiceMap } from '../traces/service-map.ts';
import {
  countsLine,
  endToEndLine,
  FROM_START_NOTE,
  groupHeadline,
  IDLE_NOTE,
  shortMemberId,
  verdictOf,
  whatChanged,
} from '../traces/wording.ts';

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
    verdictOf(report),
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
    ...whatChanged(comparison).map((s) => `  ${s}`),
    '',
    `Stages (self time and critical-path share; ${baseline.title}, then → ${current.title}):`,
    stages,
    '',
    'Time messages waited in Kafka:',
    queues,
    '',
    `${baseline.title}: ${verdictOf(baseline.report)}`,
    `${current.title}: ${verdictOf(current.report)}`,
  ].join('\n');
}

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

/** The service map as text: one line per edge, with its rate, duration and errors, and the bottleneck marked. */
export function renderServiceMapText(map: ServiceMap): string {
  if (map.edges.length === 0) return 'Service map: no spans.';
  const name = (id: string) => (id === map.bottleneck ? `${id} ◀ bottleneck` : id);
  const rows = map.edges.map((e) => [
    `${name(e.from)} → ${name(e.to)}`,
    e.what,
    String(e.count),
    `${e.perSecond.toFixed(1)}/s`,
    ms(e.duration.p50),
    ms(e.duration.p99),
    e.wait ? `${ms(e.wait.p50)} / ${ms(e.wait.p99)}` : '',
    pct(e.errorRate),
  ]);
  return [
    `Service map (over ${spokenDuration(map.seconds * 1000)} of spans; duration of the server, producer or process span):`,
    table(['edge', 'what', 'count', 'rate', 'p50', 'p99', 'wait in Kafka p50 / p99', 'errors'], rows, (c) => c < 2),
  ].join('\n');
}
