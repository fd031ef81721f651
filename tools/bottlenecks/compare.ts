import type { BottleneckReport, Percentiles, StageStats, Station } from './analyze.ts';
import { formatChange, formatMs } from '../traces/format.ts';

/** One run's report under its name. */
export interface NamedReport {
  title: string;
  report: BottleneckReport;
}

/** Two runs side by side: every stage and queue of either, and the differences stated in words. */
export interface Comparison {
  baseline: NamedReport;
  current: NamedReport;
  stages: Array<{ stage: string; station: Station; before?: StageStats; after?: StageStats }>;
  queues: Array<{ topic: string; before?: Percentiles; after?: Percentiles }>;
  /** The differences that matter, one sentence each, biggest first after the bottleneck and end-to-end lines. */
  statements: string[];
}

const share = (x: number) => `${Math.round(x * 100)}%`;

/** Compares `current` with `baseline` (`--run current --against baseline`): what changed, from baseline to current. */
export function compareReports(baseline: NamedReport, current: NamedReport): Comparison {
  const keyed = new Map<string, Comparison['stages'][number]>();
  for (const [side, report] of [
    ['before', baseline.report],
    ['after', current.report],
  ] as const) {
    for (const stage of report.stages) {
      const key = `${stage.station}|${stage.stage}`;
      const row = keyed.get(key) ?? { stage: stage.stage, station: stage.station };
      row[side] = stage;
      keyed.set(key, row);
    }
  }
  const weight = (row: Comparison['stages'][number]) => Math.max(row.before?.share ?? 0, row.after?.share ?? 0);
  const stages = [...keyed.values()].sort((a, b) => weight(b) - weight(a));

  const topics = new Map<string, Comparison['queues'][number]>();
  for (const q of baseline.report.queues) topics.set(q.topic, { topic: q.topic, before: q.wait });
  for (const q of current.report.queues)
    topics.set(q.topic, { ...(topics.get(q.topic) ?? { topic: q.topic }), after: q.wait });
  const queues = [...topics.values()].sort(
    (a, b) => Math.max(b.before?.p95 ?? 0, b.after?.p95 ?? 0) - Math.max(a.before?.p95 ?? 0, a.after?.p95 ?? 0),
  );

  const statements: string[] = [];
  const [was, is] = [baseline.report.bottleneck, current.report.bottleneck];
  if (was && is && was.station !== is.station) {
    statements.push(
      `bottleneck moved from ${was.station} (${share(was.stationShare)} of the critical path) to ${is.station} (${share(is.stationShare)})`,
    );
  } else if (was && is) {
    statements.push(
      `bottleneck stays at ${is.station}: ${share(was.stationShare)} → ${share(is.stationShare)} of the critical path`,
    );
  } else if (is) {
    statements.push(`bottleneck: ${is.station} (the baseline had no finished order to judge)`);
  }
  const [e2eBefore, e2eAfter] = [baseline.report.endToEnd, current.report.endToEnd];
  if (e2eBefore.count > 0 && e2eAfter.count > 0) {
    statements.push(
      `end to end p95 ${formatMs(e2eBefore.p95)} → ${formatMs(e2eAfter.p95)} (${formatChange(e2eBefore.p95, e2eAfter.p95)}), p50 ${formatMs(e2eBefore.p50)} → ${formatMs(e2eAfter.p50)} (${formatChange(e2eBefore.p50, e2eAfter.p50)})`,
    );
  }
  const [flyingBefore, flyingAfter] = [baseline.report.inFlight.count, current.report.inFlight.count];
  if (flyingBefore > 0 || flyingAfter > 0)
    statements.push(
      `orders in flight ${flyingBefore} of ${baseline.report.orders} → ${flyingAfter} of ${current.report.orders}`,
    );
  for (const q of queues) {
    if (q.before && q.after)
      statements.push(
        `${q.topic} wait p95 ${formatMs(q.before.p95)} → ${formatMs(q.after.p95)} (${formatChange(q.before.p95, q.after.p95)})`,
      );
  }
  const moved = stages
    .filter((row) => Math.abs((row.after?.share ?? 0) - (row.before?.share ?? 0)) >= 0.05)
    .sort(
      (a, b) =>
        Math.abs((b.after?.share ?? 0) - (b.before?.share ?? 0)) -
        Math.abs((a.after?.share ?? 0) - (a.before?.share ?? 0)),
    )
    .slice(0, 4);
  for (const row of moved) {
    const self =
      row.before && row.after && !row.stage.startsWith('queue ')
        ? `, self p95 ${formatMs(row.before.self.p95)} → ${formatMs(row.after.self.p95)}`
        : '';
    statements.push(
      `${row.stage} (${row.station}) ${share(row.before?.share ?? 0)} → ${share(row.after?.share ?? 0)} of the critical path${self}`,
    );
  }
  return { baseline, current, stages, queues, statements };
}
