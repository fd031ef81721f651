import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { createProducer } from '../../common/kafka/client.ts';
import { followTopic } from '../../common/kafka/follower.ts';
import { outgoing } from '../../common/kafka/publish.ts';
import { ordersPlaced, ordersStatus } from '../../common/topics/index.ts';
import { exampleOnlineOrder } from '../../gateway/schemas.ts';
import { runLoad } from '../../load/runner.ts';
import { percentiles } from '../traces/percentiles.ts';
import { pause } from './measure.ts';

/** The whole pipeline with no simulated work and chefs enough that no ticket waits for one: what the services cost. */
export const PIPELINE_ENV = { ITUNA_DELAYS: 'address=0,name=0,inventory=0,cook=0', ITUNA_KITCHEN_CHEFS: '64' };

/**
 * Places `count` valid online orders in orders.placed as the gateway would (same contract, same key), 500 a request, and
 * returns their ids: a backlog for the workers. `partitionOf` puts the i-th order on a partition of its choosing
 * instead of its key's.
 */
export async function placeBacklog(
  kafka: Kafka,
  count: number,
  partitionOf?: (index: number) => number,
): Promise<string[]> {
  const ids: string[] = [];
  const producer = createProducer(kafka);
  await producer.connect();
  try {
    for (let placed = 0; placed < count; placed += 500) {
      const messages = Array.from({ length: Math.min(500, count - placed) }, (_, i) => {
        const order = {
          orderId: randomUUID(),
          channel: 'online' as const,
          placedAt: new Date().toISOString(),
          ...exampleOnlineOrder,
        };
        ids.push(order.orderId);
        const { message } = outgoing(ordersPlaced, order);
        return partitionOf ? { ...message, partition: partitionOf(placed + i) } : message;
      });
      await producer.send({ topic: ordersPlaced.name, acks: -1, messages });
    }
  } finally {
    await producer.disconnect();
  }
  return ids;
}

/** A load scenario: `rate` orders/s, open model, for `seconds`. */
export const fixedRate = (rate: number, seconds: number) => ({
  description: 'bench',
  startRate: rate,
  stages: [{ seconds, target: rate }],
  maxInFlight: 2000,
});

/** The end-to-end latency of the accepted orders that became ready, from the request's sending to `ready`, in ms. */
export function readyLatency(accepted: Array<{ orderId: string; sentAt: number }>, readyAt: Map<string, number>) {
  return percentiles(accepted.filter((a) => readyAt.has(a.orderId)).map((a) => readyAt.get(a.orderId)! - a.sentAt));
}

/** Polls GET /orders/{id} until each order is ready or `limitMs` passed; returns when each became ready (from its history). */
export async function settle(gatewayUrl: string, orderIds: string[], limitMs: number): Promise<Map<string, number>> {
  const begun = Date.now();
  const readyAt = new Map<string, number>();
  await pause(500);
  while (readyAt.size < orderIds.length && Date.now() - begun < limitMs) {
    const pending = orderIds.filter((o) => !readyAt.has(o));
    for (let i = 0; i < pending.length; i += 50) {
      await Promise.all(
        pending.slice(i, i + 50).map(async (id) => {
          const order = (await (await fetch(`${gatewayUrl}/orders/${id}`)).json()) as {
            history?: Array<{ status: string; at: string }>;
          };
          const ready = order.history?.find((h) => h.status === 'ready');
          if (ready) readyAt.set(id, Date.parse(ready.at));
        }),
      );
    }
    if (readyAt.size < orderIds.length) await pause(300);
  }
  return readyAt;
}

/** A few seconds of orders before measuring, waited for until ready: JIT, connections, consumer groups settled. */
export async function warmUp(gatewayUrl: string, untilReady: boolean, seconds = 2): Promise<void> {
  const run = await runLoad({ baseUrl: gatewayUrl, scenario: fixedRate(100, seconds), runId: 'bench-warm-up' });
  if (untilReady)
    await settle(
      gatewayUrl,
      run.accepted.map((a) => a.orderId),
      15_000,
    );
}

/** When each order became ready, as read from orders.status by the bench itself. */
export interface ReadyWatch {
  /** Waits until each of `orderIds` is ready or `limitMs` passed; returns when each became ready. */
  settle(orderIds: string[], limitMs: number): Promise<Map<string, number>>;
  stop(): Promise<void>;
}

/**
 * Reads `ready` statuses from orders.status from now on, instead of asking the gateway for every order: a GET per
 * order would add its own cost to the gateway's CPU per order. It fetches at most every half second, in requests that
 * wait for 64 KB, so that it adds little to the broker's.
 */
export async function watchReady(kafka: Kafka): Promise<ReadyWatch> {
  const readyAt = new Map<string, number>();
  const follower = await followTopic(kafka, ordersStatus, {
    from: 'end',
    traced: false,
    fetchWait: { minBytes: 64 * 1024, maxWaitMs: 500 },
    onMessage: (change) => {
      if (change.status === 'ready') readyAt.set(change.orderId, Date.parse(change.at));
    },
  });
  return {
    async settle(orderIds, limitMs) {
      const begun = Date.now();
      while (orderIds.some((id) => !readyAt.has(id)) && Date.now() - begun < limitMs) await pause(100);
      return new Map(orderIds.filter((id) => readyAt.has(id)).map((id) => [id, readyAt.get(id)!]));
    },
    stop: () => follower.stop(),
  };
}

/**
 * The end-to-end latency (HTTP call to ready) of `rate` orders a second for `seconds`, each order settled: its p50 and
 * p99 in ms, and how many of those sent became ready.
 */
export async function latencyRun(gatewayUrl: string, ready: ReadyWatch, rate: number, seconds: number, runId: string) {
  const run = await runLoad({ baseUrl: gatewayUrl, scenario: fixedRate(rate, seconds), runId });
  const readyAt = await ready.settle(
    run.accepted.map((a) => a.orderId),
    15_000,
  );
  const { p50, p99 } = readyLatency(run.accepted, readyAt);
  return { p50, p99, ready: readyAt.size, sent: run.sent };
}

/**
 * Whether the pipeline kept up with a run at a fixed rate: nearly every arrival sent and accepted, and every accepted
 * order ready. Arrivals skipped because the client already had its most requests waiting count against it: the gateway
 * was not answering at the rate.
 */
export function keptUp(run: { sent: number; skipped: number; accepted: readonly unknown[] }, ready: number): boolean {
  return ready === run.accepted.length && run.accepted.length >= (run.sent + run.skipped) * 0.99;
}

/**
 * One step of the ladder: `rate` orders a second for `seconds`, then when each order was ready. The step holds when
 * nearly every arrival was sent and accepted, and every accepted one was ready within 1 s of the load's end.
 */
export async function ladderStep(gatewayUrl: string, ready: ReadyWatch, rate: number, seconds: number, runId: string) {
  const run = await runLoad({ baseUrl: gatewayUrl, scenario: fixedRate(rate, seconds), runId });
  const loadEnded = Date.now();
  const readyAt = await ready.settle(
    run.accepted.map((a) => a.orderId),
    10_000,
  );
  const lastReadyMs = (readyAt.size > 0 ? Math.max(...readyAt.values()) : Number.POSITIVE_INFINITY) - loadEnded;
  const held = keptUp(run, readyAt.size) && lastReadyMs < 1000;
  return {
    accepted: run.accepted.length,
    sent: run.sent,
    skipped: run.skipped,
    ready: readyAt.size,
    lastReadyMs,
    held,
  };
}
