import type { Kafka } from 'kafkajs';
import { oneOf } from '../common/config.ts';
import { FOLLOWER_IDLE_FETCH } from '../common/kafka/client.ts';
import { followTopic } from '../common/kafka/follower.ts';
import { isUuid, orderIdIndex } from '../common/restaurant/order-ids.ts';
import type { Logger } from '../common/logger.ts';
import type { OrderStatus } from '../common/restaurant/order.ts';
import { ordersStatus } from '../common/topics/index.ts';
import type { HistoryWindow } from '../common/topics/index.ts';

/**
 * The orders a worker has already handled, known by the statuses it publishes when it is done with one (`ready` for
 * the kitchen; `validated` or `rejected` for validation), so that an order delivered again — a producer's retry, a
 * rebalance, a replay from the dead-letter topic — is never handled twice.
 */
export interface HandledOrders {
  /**
   * Whether the order was handled. While work on it is still being committed, the answer waits for that commit: a
   * delivery that arrives meanwhile (a consumer restarted by the same broker failure) must not take the order for
   * done when its commit is about to fail.
   */
  has(orderId: string): boolean | Promise<boolean>;
  /**
   * Marks an order handled as soon as its work is staged, before Kafka has it: the next delivery finds it. With
   * `committing`, the mark is taken back if that commit fails: the order will be delivered and handled again.
   */
  add(orderId: string, committing?: Promise<unknown>): void;
  /** Resolves once every status committed to orders.status before the call has been read. */
  catchUp(): Promise<void>;
  readonly size: number;
  stop(): Promise<void>;
}

/**
 * Builds the record from `orders.status` — every status of `done` within the history window, at most
 * `window.maxOrders` orders — and keeps following it, untraced. Resolves only once it has caught up, so the worker
 * starts knowing its recent past. An order comes back only while its offset is uncommitted (seconds to minutes), or
 * when an operator replays it: that is what the window must cover.
 */
export async function followHandledOrders(
  kafka: Kafka,
  log: Logger,
  window: HistoryWindow,
  done: readonly OrderStatus[],
): Promise<HandledOrders> {
  const record = handledRecord(window.maxOrders);
  const started = performance.now();
  const follower = await followTopic(kafka, ordersStatus, {
    from: new Date(Date.now() - window.ms),
    historyLimit: window.maxMessagesPerPartition,
    // A worker reads every status of every order only to learn which it finished itself: a span per status message
    // would tell the order's trace nothing new (the gateway's order history shows when each status arrived).
    traced: false,
    fetchWait: FOLLOWER_IDLE_FETCH,
    log,
    onMessage: (change) => {
      if ((done as readonly string[]).includes(change.status)) record.add(change.orderId);
    },
    // A status message that cannot be read says nothing about what was handled; a view skips it.
    onInvalid: () => {},
  });
  await follower.caughtUp;
  log.info(
    {
      handledOrders: record.size,
      statuses: done,
      messages: follower.historyRead,
      ms: Math.round(performance.now() - started),
    },
    'caught up with the orders already handled',
  );
  return {
    has: record.has,
    add: record.add,
    catchUp: () => follower.catchUp(),
    get size() {
      return record.size;
    },
    stop: follower.stop,
  };
}

/**
 * The record itself, in memory: at most `maxOrders` orders (the oldest forgotten first), each id as its 16 bytes
 * (`orderIdIndex`: 2.7 MB for 100 000 orders, where a Set of the id strings took 14.6 MB), and the commits pending.
 */
export function handledRecord(maxOrders: number): Pick<HandledOrders, 'has' | 'add' | 'size'> {
  const handled = orderIdIndex(maxOrders);
  let next = 0;
  const pending = new Map<string, Promise<boolean>>();
  return {
    has: (orderId) => pending.get(orderId) ?? handled.slotOf(orderId) !== undefined,
    add(orderId, committing) {
      if (handled.slotOf(orderId) === undefined) {
        // The topics' contract makes every order id a UUID: anything else was never handled, nor can be.
        if (!isUuid(orderId)) return;
        handled.set(next, orderId);
        next = (next + 1) % maxOrders;
      }
      if (!committing) return;
      const outcome = committing.then(
        () => true,
        () => {
          const slot = handled.slotOf(orderId);
          if (slot !== undefined) handled.free(slot);
          return false;
        },
      );
      pending.set(orderId, outcome);
      void outcome.then(() => {
        if (pending.get(orderId) === outcome) pending.delete(orderId);
      });
    },
    get size() {
      return handled.size;
    },
  };
}

/**
 * ITUNA_KITCHEN_FENCING, ITUNA_VALIDATION_FENCING: `transactions` (the default) fences each consumed partition with a
 * Kafka transaction, so that with several replicas an order handed to a new owner in a rebalance is never reported
 * twice, its output committed with its offset; `off` commits offsets every second, and then only one replica may run.
 */
export const fencingVariable = oneOf(['transactions', 'off'], 'transactions');
export type Fencing = ReturnType<typeof fencingVariable>;
