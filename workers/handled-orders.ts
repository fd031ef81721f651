import type { Kafka } from 'kafkajs';
import { followTopic } from '../../common/kafka/follower.ts';
import type { Logger } from '../../common/logger.ts';
import { ordersStatus } from '../../common/topics/index.ts';
import type { HistoryWindow } from '../../common/topics/index.ts';

/** Orders the kitchen has already reported ready, so a redelivered ticket is never cooked twice. */
export interface ReadyOrders {
  has(orderId: string): boolean;
  add(orderId: string): void;
  /** Resolves once every `ready` committed to orders.status before the call is in the set. */
  catchUp(): Promise<void>;
  readonly size: number;
  stop(): Promise<void>;
}

/**
 * Rebuilds the set from `orders.status` — every `ready` within the history window, at most `window.maxOrders` kept —
 * and keeps following it, untraced. Resolves only once it has caught up, so the kitchen starts cooking knowing its recent past.
 * A ticket comes back only while its offset is uncommitted (minutes at most), which is what the window must cover.
 */
export async function followReadyOrders(kafka: Kafka, log: Logger, window: HistoryWindow): Promise<ReadyOrders> {
  const ready = new Set<string>();
  const add = (orderId: string) => {
    ready.add(orderId);
    if (ready.size > window.maxOrders) ready.delete(ready.values().next().value!);
  };
  const started = performance.now();
  const follower = await followTopic(kafka, ordersStatus, {
    from: new Date(Date.now() - window.ms),
    historyLimit: window.maxMessagesPerPartition,
    // The kitchen reads every status of every order only to learn which it reported ready itself: a span per status
    // message would tell the order's trace nothing new (the gateway's order history shows when each status arrived).
    traced: false,
    log,
    onMessage: (change) => {
      if (change.status === 'ready') add(change.orderId);
    },
    // A status message that cannot be read says nothing about cooking; a view skips it.
    onInvalid: () => {},
  });
  await follower.caughtUp;
  log.info(
    { readyOrders: ready.size, ms: Math.round(performance.now() - started) },
    'caught up with the orders already cooked',
  );
  return {
    has: (id) => ready.has(id),
    add,
    catchUp: () => follower.catchUp(),
    get size() {
      return ready.size;
    },
    stop: follower.stop,
  };
}
