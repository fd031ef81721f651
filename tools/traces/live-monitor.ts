import { isFollowerSpan, stageOf, stationOfStage } from './analysis.ts';
import type { FlatSpan } from './otlp.ts';
import { percentile } from './percentiles.ts';
import { topicOf } from './tree.ts';

/** One second of one series: how many spans ended in it, how many failed, and their latency percentiles (ms). */
interface Bucket {
  t: number;
  n: number;
  e: number;
  p50: number;
  p95: number;
  p99: number;
}

/** Consumer lag of one group at one moment, as Kafka reported it. */
export interface LagPoint {
  t: number;
  lag: number;
}

/** What the monitor page shows: per stage and per queue, 1 s buckets; lag per group; the verdict. */
export interface MonitorSnapshot {
  now: number;
  series: Record<string, Bucket[]>;
  lag: Record<string, LagPoint[]>;
  lagNote?: string;
  verdict?: string;
}

const WINDOW_S = 300;
/** Samples kept per series and second for the percentiles: beyond it, a reservoir keeps a fair sample. */
const SAMPLES = 500;
/** Runs followed one by one (a run id narrows the view); the oldest stops being followed first. */
const RUNS = 8;

interface Open {
  n: number;
  e: number;
  samples: number[];
  /** Once the second is old enough that no late span is expected, its figures are computed once and kept. */
  done?: Bucket;
}

/**
 * Per-second figures from spans as they arrive, for the last five minutes: each stage (the report's stages, by
 * station) and each queue (how long messages waited in Kafka, from the consumer span's `ituna.queue.wait_ms`).
 * Spans are counted in the second they ended; an export that arrives late still lands in its second.
 */
export function createLiveMonitor() {
  // run ('' = every run) → series → second → figures
  const runs = new Map<string, Map<string, Map<number, Open>>>();
  const lag = new Map<string, LagPoint[]>();
  let lagNote: string | undefined;
  const verdicts = new Map<string, string>();

  const seriesOf = (run: string) => {
    let series = runs.get(run);
    if (!series) {
      series = new Map();
      runs.set(run, series);
      const followed = [...runs.keys()].filter((r) => r !== '');
      if (followed.length > RUNS) runs.delete(followed[0]!);
    }
    return series;
  };
  const record = (run: string, key: string, second: number, value: number, error: boolean) => {
    const series = seriesOf(run);
    let seconds = series.get(key);
    if (!seconds) {
      seconds = new Map();
      series.set(key, seconds);
    }
    let open = seconds.get(second);
    if (!open) {
      open = { n: 0, e: 0, samples: [] };
      seconds.set(second, open);
    }
    open.n++;
    if (error) open.e++;
    if (open.samples.length < SAMPLES) open.samples.push(value);
    else {
      const slot = Math.floor(Math.random() * open.n);
      if (slot < SAMPLES) open.samples[slot] = value;
    }
    open.done = undefined;
  };

  return {
    /** Takes the spans of one export. */
    add(spans: FlatSpan[]) {
      const oldest = Math.floor(Date.now() / 1000) - WINDOW_S;
      for (const span of spans) {
        if (isFollowerSpan(span)) continue;
        const second = Math.floor(span.endMs / 1000);
        if (second < oldest) continue;
        const run = span.attributes['ituna.run.id'];
        const keys: Array<[string, number]> = [];
        const stage = stageOf(span);
        keys.push([`${stationOfStage(stage, span)} · ${stage}`, span.durationMs]);
        const wait = span.attributes['ituna.queue.wait_ms'];
        if (span.kind === 'consumer' && typeof wait === 'number') keys.push([`queue ${topicOf(span)}`, wait]);
        for (const [key, value] of keys) {
          record('', key, second, value, span.status.code === 'error');
          if (run !== undefined) record(String(run), key, second, value, span.status.code === 'error');
        }
      }
    },
    /** Records each group's lag (or why it could not be read). */
    setLag(at: number, groups: Array<{ groupId: string; topic: string; lag: number }> | { reason: string }) {
      if ('reason' in groups) {
        lagNote = groups.reason;
        return;
      }
      lagNote = undefined;
      for (const g of groups) {
        const key = `${g.groupId} on ${g.topic}`;
        const points = (lag.get(key) ?? []).filter((p) => p.t >= at - WINDOW_S * 1000);
        points.push({ t: at, lag: g.lag });
        lag.set(key, points);
      }
    },
    setVerdict(run: string, verdict: string) {
      verdicts.set(run, verdict);
    },
    /** The runs followed, newest last. */
    runs: () => [...runs.keys()].filter((r) => r !== ''),
    /** Figures since `sinceS` seconds ago (all five minutes by default), for every run or one. */
    snapshot(run = '', sinceS = WINDOW_S): MonitorSnapshot {
      const now = Date.now();
      const nowS = Math.floor(now / 1000);
      const from = nowS - Math.min(sinceS, WINDOW_S);
      const series: Record<string, Bucket[]> = {};
      for (const [key, seconds] of runs.get(run) ?? []) {
        const buckets: Bucket[] = [];
        for (const [second, open] of seconds) {
          if (second < nowS - WINDOW_S) {
            seconds.delete(second);
            continue;
          }
          if (second < from) continue;
          let bucket = open.done;
          if (!bucket) {
            const sorted = [...open.samples].sort((a, b) => a - b);
            bucket = {
              t: second,
              n: open.n,
              e: open.e,
              p50: percentile(sorted, 50),
              p95: percentile(sorted, 95),
              p99: percentile(sorted, 99),
            };
            // A second 10 s old is complete for all practical purposes: its figures are kept, not recomputed.
            if (second < nowS - 10) open.done = bucket;
          }
          buckets.push(bucket);
        }
        if (buckets.length > 0) series[key] = buckets.sort((a, b) => a.t - b.t);
      }
      const lagSince = Object.fromEntries(
        [...lag].map(([key, points]) => [key, points.filter((p) => p.t >= from * 1000)]),
      );
      return {
        now,
        series,
        lag: lagSince,
        ...(lagNote ? { lagNote } : {}),
        ...(verdicts.has(run) ? { verdict: verdicts.get(run) } : {}),
      };
    },
  };
}

export type LiveMonitor = ReturnType<typeof createLiveMonitor>;
