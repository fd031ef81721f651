import type { Channel, OrderStatus, RejectionReason } from '../common/restaurant/order.ts';
import { STATUS_RANK } from '../common/restaurant/order.ts';
import type { Kafka } from 'kafkajs';
import { followTopic } from '../common/kafka/follower.ts';
import type { Follower } from '../common/kafka/follower.ts';
import type { Logger } from '../common/logger.ts';
import { ordersStatus } from '../common/topics/index.ts';
import type { HistoryWindow, OrderStatusChange } from '../common/topics/index.ts';

/** What the gateway knows of one order: its status, when it reached each status, and its trace. */
export interface OrderRecord {
  orderId: string;
  channel: Channel;
  status: OrderStatus;
  traceId?: string;
  reasons?: RejectionReason[];
  /** For an order placed with an Idempotency-Key: the SHA-256 of its request (from its `accepted` status). */
  requestHash?: string;
  /** When the order reached each status, and when the station reporting it took the order from Kafka. */
  history: Array<{ status: OrderStatus; at: string; startedAt?: string }>;
}

/** The orders' current statuses, built from `orders.status`; holds the newest `limit` orders. */
export interface OrderHistory {
  apply(change: OrderStatusChange, traceId?: string): void;
  get(orderId: string): OrderRecord | undefined;
  readonly size: number;
  /** How far back the history reaches (ITUNA_HISTORY_WINDOW); absent: as far as it has read. */
  readonly windowMs?: number;
}

/** An in-memory order history in which a status only moves forward, whatever order the changes arrive in. */
export function createOrderHistory(limit = 100_000, windowMs?: number): OrderHistory {
  const orders = new Map<string, OrderRecord>();
  return {
    apply(change, traceId) {
      let record = orders.get(change.orderId);
      if (!record) {
        record = { orderId: change.orderId, channel: change.channel, status: change.status, history: [] };
        orders.set(change.orderId, record);
        if (orders.size > limit) orders.delete(orders.keys().next().value!);
      }
      record.traceId ??= traceId;
      if (record.history.some((h) => h.status === change.status)) return;
      record.history.push({
        status: change.status,
        at: change.at,
        ...(change.startedAt ? { startedAt: change.startedAt } : {}),
      });
      record.history.sort((a, b) => STATUS_RANK[a.status] - STATUS_RANK[b.status]);
      if (STATUS_RANK[change.status] >= STATUS_RANK[record.status]) record.status = change.status;
      if (change.reasons) record.reasons = change.reasons;
      if (change.requestHash) record.requestHash = change.requestHash;
    },
    get: (orderId) => orders.get(orderId),
    get size() {
      return orders.size;
    },
    ...(windowMs === undefined ? {} : { windowMs }),
  };
}

/**
 * Keeps `history` up to date from `orders.status` — the status changes of the history window, then as they come —
 * which is how every gateway replica answers GET /orders/{id}. Resolves once it has caught up with the topic.
 */
export async function followOrderHistory(
  kafka: Kafka,
  log: Logger,
  history: OrderHistory,
  window: HistoryWindow,
): Promise<Follower> {
  const started = performance.now();
  const follower = await followTopic(kafka, ordersStatus, {
    from: new Date(Date.now() - window.ms),
    historyLimit: window.maxMessagesPerPartition,
    log,
    onMessage: (change, { traceId }) => history.apply(change, traceId),
  });
  await follower.caughtUp;
  log.info({ orders: history.size, ms: Math.round(performance.now() - started) }, 'caught up with the order history');
  return follower;
}
