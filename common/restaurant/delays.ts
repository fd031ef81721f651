import { setTimeout as sleep } from 'node:timers/promises';
import type { Parser } from '../config.ts';

/** The stages whose work is simulated: the three validation checks and cooking one order line. */
export const DELAY_STAGES = ['address', 'name', 'inventory', 'cook'] as const;
export type DelayStage = (typeof DELAY_STAGES)[number];

/** A stage's simulated work: `ms` give or take up to `jitterMs`, uniformly. */
export interface Delay {
  ms: number;
  jitterMs: number;
}
export type Delays = Record<DelayStage, Delay>;

/** Cooking is the bottleneck out of the box: two chefs at ~80 ms a dish cook ~14 orders/s, validation handles ~80. */
export const DEFAULT_DELAYS = 'address=10~5,name=2~1,inventory=25~10,cook=80~20';

const ENTRY = /^(\w+)=(\d+)(?:~(\d+))?$/;

/** Parses `address=20,name=5,inventory=150~50,cook=400~100`; stages left out take no time. */
export function parseDelays(spec: string): Delays {
  const none = Object.fromEntries(DELAY_STAGES.map((stage) => [stage, { ms: 0, jitterMs: 0 }])) as Delays;
  return { ...none, ...parseDelayChanges(spec) };
}

/** Only the stages `spec` names, for changing some stages of a running pipeline. */
export function parseDelayChanges(spec: string): Partial<Delays> {
  const delays: Partial<Delays> = {};
  for (const entry of spec
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const match = ENTRY.exec(entry);
    const stage = match?.[1] as DelayStage | undefined;
    if (!match || !stage || !DELAY_STAGES.includes(stage)) {
      throw new Error(
        `must be comma-separated stage=ms or stage=ms~jitter with stages ${DELAY_STAGES.join(', ')}; "${entry}" is not`,
      );
    }
    const ms = Number(match[2]);
    const jitterMs = Number(match[3] ?? 0);
    if (ms > 60_000 || jitterMs > ms) throw new Error(`"${entry}": ms must be at most 60000 and jitter at most ms`);
    delays[stage] = { ms, jitterMs };
  }
  return delays;
}

/** ITUNA_DELAYS as a config parser. */
export const delaysVariable: Parser<Delays> = (raw) => parseDelays(raw ?? DEFAULT_DELAYS);

/** How long one run of a stage takes this time. */
export function drawDelay({ ms, jitterMs }: Delay, random: () => number = Math.random): number {
  return Math.max(0, Math.round(ms + (random() * 2 - 1) * jitterMs));
}

/** Simulates a stage's work; resolves with the milliseconds spent. */
export async function simulateWork(delay: Delay): Promise<number> {
  const ms = drawDelay(delay);
  if (ms > 0) await sleep(ms);
  return ms;
}
