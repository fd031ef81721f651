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

/** A gateway's claim on a keyed order: the request that may place it. */
interface OrderClaim {
  claimId: string;
  requestHash: string;
  /** When it was claimed (the claiming gateway's clock). */
  at: string;
}

/**
 * How long a claim holds an order id for its request: a claim with no `accepted` after it for this long (its gateway
 * died, or Kafka refused its order) gives way to the next claim in the partition.
 */
const CLAIM_TTL_MS = 10_000;

/** The orders' current statuses, built from `orders.status`; holds the newest `limit` orders. */
export interface OrderHistory {
  apply(change: OrderStatusChange, traceId?: string): void;
  get(orderId: string): OrderRecord | undefined;
  /**
   * The claim that owns a keyed order not accepted yet: of the claims read in partition order, the first, unless it
   * outlived CLAIM_TTL_MS before the next one was written. Every replica reads the same partition in the same order,
   * so every replica names the same owner.
   */
  claimOf(orderId: string): OrderClaim | undefined;
  readonly size: number;
  /** How far back the history reaches (ITUNA_HISTORY_WINDOW); absent: as far as it has read. */
  readonly windowMs?: number;
}

/** An in-memory order history in which a status only moves forward, whatever order the changes arrive in. */
export function createOrderHistory(limit = 100_000, windowMs?: number): OrderHistory {
  const orders = new Map<string, OrderRecord>();
  const claims = new Map<string, OrderClaim>();
  const claim = (change: OrderStatusChange) => {
    if (orders.has(change.orderId) || !change.claimId || !change.requestHash) return;
    const owner = claims.get(change.orderId);
    if (owner && Date.parse(change.at) - Date.parse(owner.at) <= CLAIM_TTL_MS) return;
    claims.delete(change.orderId);
    claims.set(change.orderId, { claimId: change.claimId, requestHash: change.requestHash, at: change.at });
    if (claims.size > limit) claims.delete(claims.keys().next().value!);
  };
  return {
    apply(change, traceId) {
      if (change.status === 'claimed') return claim(change);
      const status = change.status;
      claims.delete(change.orderId);
      let record = orders.get(change.orderId);
      if (!record) {
        record = { orderId: change.orderId, channel: change.channel, status, history: [] };
        orders.set(change.orderId, record);
        if (orders.size > limit) orders.delete(orders.keys().next().value!);
      }
      record.traceId ??= traceId;
      if (record.history.some((h) => h.status === status)) return;
      record.history.push({
        status,
        at: change.at,
        ...(change.startedAt ? { startedAt: change.startedAt } : {}),
      });
      record.history.sort((a, b) => STATUS_RANK[a.status] - STATUS_RANK[b.status]);
      if (STATUS_RANK[status] >= STATUS_RANK[record.status]) record.status = status;
      if (change.reasons) record.reasons = change.reasons;
      // The first `accepted` names the order's request; a late one (after its claim had timed out) does not replace it.
      if (change.requestHash && status === 'accepted') record.requestHash ??= change.requestHash;
    },
    get: (orderId) => orders.get(orderId),
    claimOf: (orderId) => claims.get(orderId),
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
