import type { Kafka } from 'kafkajs';
import { followTopic } from '../../common/kafka/follower.ts';
import type { Logger } from '../../common/logger.ts';
import { ordersStatus } from '../../common/topics/index.ts';

/** Orders the kitchen has already reported ready, so a redelivered ticket is never cooked twice. */
export interface ReadyOrders {
  has(orderId: string): boolean;
  add(orderId: string): void;
  readonly size: number;
  stop(): Promise<void>;
}

/**
 * Rebuilds the set from `orders.status` (every `ready` ever reported, newest `limit` kept) and keeps following it.
 * Resolves only once it has caught up with the topic's end, so the kitchen starts cooking knowing its past.
 */
export async function followReadyOrders(kafka: Kafka, log: Logger, limit = 1_000_000): Promise<ReadyOrders> {
  const ready = new Set<string>();
  const add = (orderId: string) => {
    ready.add(orderId);
    if (ready.size > limit) ready.delete(ready.values().next().value!);
  };
  const started = performance.now();
  const follower = await followTopic(kafka, ordersStatus, {
    log,
    onMessage: (change) => {
      if (change.status === 'ready') add(change.orderId);
    },
    // A status message that cannot be read says nothing about cooking; a view skips it.
    onInvalid: () => {},
  });
  await follower.caughtUp;
  log.info({ readyOrders: ready.size, ms: Math.round(performance.now() - started) }, 'caught up with the orders already cooked');
  return { has: (id) => ready.has(id), add, get size() { return ready.size; }, stop: follower.stop };
}
