import type { BottleneckReport, Percentiles, StageStats, Station } from './run-analysis.ts';

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
}

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

  return { baseline, current, stages, queues };
}
