import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin, Kafka } from 'kafkajs';
import { untilKafkaAnswers } from '../../common/kafka/client.ts';
import { ordersPlaced, ordersStatus } from '../../common/topics/index.ts';
import { readConsumerGroups } from '../traces/consumer-groups.ts';
import type { GroupLag, GroupTopic } from '../traces/consumer-groups.ts';
import { renderConsumerGroupsText } from '../bottlenecks/text.ts';
import { shortMemberId } from '../traces/wording.ts';
import { spawnService } from '../start/spawn-service.ts';
import type { ServiceProcess } from '../start/spawn-service.ts';
import { CONSUMER_GROUPS } from '../../workers/consumer-groups.ts';
import { placeBacklog } from './pipeline.ts';

/** How a scaling measurement runs: worker counts in the order they are reached, the window measured, each order's work. */
export interface ScalingOptions {
  kafka: Kafka;
  /** The bootstrap servers of `kafka`, for the workers. */
  brokers: string;
  /** Variables for every validation worker besides the broker and the simulated work (where spans go, say). */
  env: Record<string, string>;
  /** Validation worker counts, ascending: workers are added between rounds, as an operator scales out. */
  counts: number[];
  windowMs: number;
  /** The simulated work of one order (its inventory check), in ms; each worker handles one order at a time. */
  workMs: number;
  say(line: string): void;
}

/** One worker count: orders validated per second in a steady window, and the group as Kafka saw it at the window's end. */
export interface ScalingRound {
  workers: number;
  ordersPerSecond: number;
  /** The rate in each half of the window: close together when the window was steady. */
  halves: [number, number];
  group: GroupLag;
  /** Members came or went during the window: the figure straddles a rebalance. */
  rebalanced: boolean;
  /** The halves differ by more than UNSTEADY: something else took the workers' CPU during the window. */
  unsteady: boolean;
}

/** How far apart a window's halves may be before the round is called unsteady. */
const UNSTEADY = 0.15;

export interface ScalingResult {
  rounds: ScalingRound[];
  partitions: number;
  brokers: string;
  /** Partitions whose backlog ran out: their figures would be what was offered, not what the workers can do. */
  ranDry: number[];
}

const validation: GroupTopic = {
  groupId: CONSUMER_GROUPS.validation.groupId,
  topic: CONSUMER_GROUPS.validation.topic.name,
};

/**
 * Orders each partition must hold so that no partition runs dry before the last round ends, even if one partition were
 * drained at a whole worker's pace through every round (a worker takes one partition's batch at a time).
 */
export function backlogPerPartition({
  counts,
  windowMs,
  workMs,
}: Pick<ScalingOptions, 'counts' | 'windowMs' | 'workMs'>): number {
  const roundMs = windowMs + 20_000; // start-up, rebalance and settling before each window
  return Math.ceil((roundMs / workMs) * counts.length);
}

/**
 * Orders the validation workers have handled: with no gateway and no kitchen running, each is one message in
 * orders.status. Timed at the middle of the request that counted them.
 */
function handledOrders(admin: Admin): Promise<{ at: number; handled: number }> {
  return untilKafkaAnswers(
    'counting the handled orders',
    async () => {
      const asked = performance.now();
      const offsets = await admin.fetchTopicOffsets(ordersStatus.name);
      return { at: (asked + performance.now()) / 2, handled: offsets.reduce((sum, p) => sum + Number(p.high), 0) };
    },
    { limitMs: 10_000 },
  );
}

async function validationGroup(kafka: Kafka): Promise<GroupLag> {
  return (
    await untilKafkaAnswers('reading the validation group', () => readConsumerGroups(kafka, [validation]), {
      limitMs: 10_000,
    })
  )[0]!;
}

/** Waits until the group is stable with `members` members and every partition owned. */
async function stableGroup(kafka: Kafka, members: number, limitMs = 60_000): Promise<GroupLag> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const group = await validationGroup(kafka);
    if (group.state === 'Stable' && group.members.length === members && group.partitions.every((p) => p.owner))
      return group;
    if (Date.now() > deadline)
      throw new Error(
        `the validation group is not stable with ${members} members after ${limitMs / 1000} s (${group.state}, ${group.members.length} members)`,
      );
    await sleep(250);
  }
}

const memberIds = (group: GroupLag) =>
  group.members
    .map((m) => m.memberId)
    .sort()
    .join(',');

/**
 * One round from three counts of handled orders (window start, middle, end) and the group before and after the
 * window: the rate over the window, over each half, and whether the membership held still.
 */
export function scalingRound(
  workers: number,
  samples: Array<{ at: number; handled: number }>,
  before: GroupLag,
  after: GroupLag,
): ScalingRound {
  const rate = (a: number, b: number) =>
    ((samples[b]!.handled - samples[a]!.handled) * 1000) / (samples[b]!.at - samples[a]!.at);
  const halves: [number, number] = [rate(0, 1), rate(1, 2)];
  return {
    workers,
    ordersPerSecond: rate(0, 2),
    halves,
    group: after,
    rebalanced: after.state !== 'Stable' || memberIds(after) !== memberIds(before),
    unsteady: Math.abs(halves[0] - halves[1]) > UNSTEADY * Math.max(...halves),
  };
}

/**
 * Measures how validation scales out: a backlog in orders.placed larger than any round can drain (so every worker
 * always has orders waiting: the offer exceeds the capacity), then 1, 2, 3… validation worker processes, each
 * limited by its simulated work (one order at a time). For each count, once the group is stable, the orders handled
 * per second over a steady window.
 */
export async function measureScaling(options: ScalingOptions): Promise<ScalingResult> {
  const { kafka, counts, windowMs, workMs, say } = options;
  const partitions = ordersPlaced.partitions;
  const perPartition = backlogPerPartition(options);
  say(
    `placing a backlog of ${perPartition * partitions} orders in ${ordersPlaced.name} (${perPartition} a partition)…`,
  );
  // The same number on every partition: none runs dry before the others.
  await placeBacklog(kafka, perPartition * partitions, (i) => i % partitions);
  const workers: ServiceProcess[] = [];
  const env = {
    ...options.env,
    KAFKA_BROKERS: options.brokers,
    ITUNA_DELAYS: `address=0,name=0,inventory=${workMs}`,
    ITUNA_VALIDATION_CONCURRENCY: '1',
    LOG_LEVEL: 'info',
  };
  const rounds: ScalingRound[] = [];
  const admin = kafka.admin();
  await admin.connect();
  try {
    for (const count of counts) {
      const added = Array.from({ length: count - workers.length }, () => spawnService('validation', env));
      workers.push(...added);
      say(
        `${count} validation worker${count === 1 ? '' : 's'}: starting ${added.length}, waiting for the group to settle…`,
      );
      await Promise.race([
        Promise.all(added.map((w) => w.ready)),
        sleep(60_000, undefined, { ref: false }).then(() =>
          Promise.reject(new Error('a validation worker did not start within 60 s')),
        ),
      ]);
      const before = await stableGroup(kafka, count);
      // Every member past its first fetch, and a worker just started past its first orders (cold code runs slower).
      await sleep(3000);
      const samples: Array<{ at: number; handled: number }> = [];
      for (let i = 0; i < 3; i++) {
        if (i > 0) await sleep(windowMs / 2);
        samples.push(await handledOrders(admin));
      }
      const round = scalingRound(count, samples, before, await validationGroup(kafka));
      rounds.push(round);
      const base = rounds[0]!.ordersPerSecond;
      say(
        `${count} validation worker${count === 1 ? '' : 's'}: ${round.ordersPerSecond.toFixed(1)} orders/s (${(round.ordersPerSecond / base).toFixed(2)}× one worker; halves ${round.halves.map((h) => h.toFixed(1)).join(' and ')})` +
          `${round.group.idle.length ? `, ${round.group.idle.length} idle` : ''}${round.rebalanced ? ' — the group rebalanced during the window' : ''}` +
          `${round.unsteady ? ' — unsteady: the halves differ, the machine was busy; run again for a figure to compare' : ''}`,
      );
    }
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await admin.disconnect();
  }
  // Stopped workers have committed what they handled: a partition still lagging never ran out of orders.
  const ranDry = (await validationGroup(kafka)).partitions.filter((p) => p.lag === 0).map((p) => p.partition);
  if (ranDry.length > 0)
    say(`warning: partitions ${ranDry.join(', ')} ran out of orders; the figures may show the offer, not the capacity`);
  return { rounds, partitions, brokers: options.brokers, ranDry };
}

/** The rounds as a table (rate, ratio to one worker, rate per worker with partitions, partitions per member, idle members), then the last round's partitions and owners. */
export function renderScaling(result: ScalingResult): string {
  const base = result.rounds[0]?.ordersPerSecond ?? 0;
  // Members beyond the partition count have nothing to do.
  const busy = (round: ScalingRound) => Math.min(round.workers, result.partitions);
  const rows = result.rounds.map((round) => {
    const owned = round.group.members.map((m) => m.partitions.length).sort((a, b) => b - a);
    const idle = round.group.idle.map((m) => `member ${shortMemberId(m)}`);
    return [
      String(round.workers),
      `${round.ordersPerSecond.toFixed(1)} (halves ${round.halves.map((h) => h.toFixed(1)).join(', ')})${round.rebalanced ? ', rebalanced during the window' : ''}${round.unsteady ? ', unsteady' : ''}`,
      `${(round.ordersPerSecond / base).toFixed(2)}× (ideal ${busy(round)}×)`,
      (round.ordersPerSecond / busy(round)).toFixed(1),
      owned.join(', '),
      idle.length ? `${idle.length}: ${idle.join(', ')}` : '—',
    ];
  });
  const last = result.rounds.at(-1);
  return [
    '| validation workers | orders/s validated | × 1 worker | orders/s per busy worker | partitions per member | idle members |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
    ...(result.ranDry.length
      ? [
          '',
          `Partitions ${result.ranDry.join(', ')} ran out of orders: their rounds measured the offer, not the capacity.`,
        ]
      : []),
    ...(last
      ? [
          '',
          `With ${last.workers} workers, at the end of the window:`,
          '',
          renderConsumerGroupsText({ brokers: result.brokers, snapshot: { available: true, groups: [last.group] } }),
        ]
      : []),
  ].join('\n');
}
