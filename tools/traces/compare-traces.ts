import { traceCriticalPath } from './analysis.ts';
import type { OrderPath, Station } from './analysis.ts';
import { formatMs, formatShare } from './format.ts';
import type { FlatSpan } from './otlp.ts';
import { rootOf } from './tree.ts';

/** One trace's side of a comparison. */
export interface TraceSide {
  traceId: string;
  rootName: string;
  path: OrderPath;
}

/** One stage (or queue) of the report, on the critical path of either trace. */
interface StageDifference {
  stage: string;
  station: Station;
  aMs: number;
  bMs: number;
  /** b − a: positive when B spent longer there. */
  diffMs: number;
}

/** Two orders compared by latency, stage by stage: where B's time went compared with A's. */
export interface TraceComparison {
  a: TraceSide;
  b: TraceSide;
  /** Every stage on either critical path, the largest difference first. */
  stages: StageDifference[];
  /** The stage whose difference is the largest part of the total difference (undefined when both take as long). */
  decisive?: StageDifference;
}

const sideOf = (spans: FlatSpan[]): TraceSide => ({
  traceId: spans[0]!.traceId,
  rootName: rootOf(spans)!.name,
  path: traceCriticalPath(spans),
});

/**
 * Compares two traces by where their critical paths spent time: the report's stages and the waits in Kafka, each as
 * the time it held the order up (so the stages of one trace add up to its duration).
 */
export function compareTraces(a: FlatSpan[], b: FlatSpan[]): TraceComparison {
  const [sideA, sideB] = [sideOf(a), sideOf(b)];
  const keys = new Set([...sideA.path.byStage.keys(), ...sideB.path.byStage.keys()]);
  const stages = [...keys]
    .map((key) => {
      const [inA, inB] = [sideA.path.byStage.get(key), sideB.path.byStage.get(key)];
      const [aMs, bMs] = [inA?.ms ?? 0, inB?.ms ?? 0];
      return { stage: key.slice(key.indexOf('|') + 1), station: (inA ?? inB)!.station, aMs, bMs, diffMs: bMs - aMs };
    })
    .sort((x, y) => Math.abs(y.diffMs) - Math.abs(x.diffMs) || x.stage.localeCompare(y.stage));
  const total = sideB.path.totalMs - sideA.path.totalMs;
  // The stage that moved most in the direction of the total: a faster stage does not explain a slower trace.
  const decisive = stages.find((s) => Math.sign(s.diffMs) === Math.sign(total) && s.diffMs !== 0);
  return { a: sideA, b: sideB, stages, decisive: total === 0 ? undefined : decisive };
}

/** A signed difference with a true minus: "+1.30 s", "−12.0 ms", "±0". */
export const signedMs = (ms: number) => (ms === 0 ? '±0' : `${ms > 0 ? '+' : '−'}${formatMs(Math.abs(ms))}`);

/** The comparison in one sentence: which trace took longer, by how much, and which stage made the difference. */
export function comparisonSentence({ a, b, decisive }: TraceComparison): string {
  const total = b.path.totalMs - a.path.totalMs;
  if (total === 0 || !decisive) return `A and B took as long (${formatMs(a.path.totalMs)}).`;
  const [slower, faster] = total > 0 ? ['B', 'A'] : ['A', 'B'];
  const [slowMs, fastMs] = total > 0 ? [b.path.totalMs, a.path.totalMs] : [a.path.totalMs, b.path.totalMs];
  const share = Math.min(1, Math.abs(decisive.diffMs) / Math.abs(total));
  return `${slower} took ${formatMs(Math.abs(total))} longer than ${faster} (${formatMs(slowMs)} against ${formatMs(fastMs)}); most of the difference is ${decisive.stage} (${decisive.station}): ${signedMs(decisive.diffMs)}, ${formatShare(share)} of it.`;
}
