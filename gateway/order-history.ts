import type { Channel, OrderStatus, RejectionReason } from '../common/restaurant/order.ts';
import { CHANNELS, ORDER_STATUSES, STATUS_RANK } from '../common/restaurant/order.ts';
import type { Kafka } from 'kafkajs';
import { followTopic } from '../common/kafka/follower.ts';
import { isUuid, orderIdIndex } from '../common/restaurant/order-ids.ts';
import type { Follower } from '../common/kafka/follower.ts';
import type { Logger } from '../common/logger.ts';
import { ordersStatus } from '../common/topics/index.ts';
import { instantMs } from '../common/topics/date-time.ts';
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

/** A W3C trace id: what a traceparent header carries, so what the history can keep as 16 bytes. */
const TRACE_ID = /^[0-9a-f]{32}$/;

/** The orders' current statuses, built from `orders.status`; holds the newest `limit` orders. */
export interface OrderHistory {
  /**
   * Applies a status change. The order's trace id is kept from its first status that has one: `trace.traceId` is read
   * only until then (a followed message parses its headers when it is read, so not for every status).
   */
  apply(change: OrderStatusChange, trace?: { readonly traceId?: string | undefined }): void;
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

/**
 * An in-memory order history in which a status only moves forward, whatever order the changes arrive in.
 *
 * Kept as columns of numbers and bytes in a ring of `limit` slots rather than an object of strings per order, and each
 * order id as its 16 bytes rather than a string in a Map, so a full history costs about 170 bytes an order
 * (docs/benchmarks-history.md, tuning 13; BENCHMARKS.md). `get` builds the record when asked.
 */
export function createOrderHistory(limit = 100_000, windowMs?: number): OrderHistory {
  const STATUSES = ORDER_STATUSES.length;
  const ids = orderIdIndex(limit);
  const channel = new Uint8Array(limit);
  const status = new Uint8Array(limit);
  /** One bit per status the order reached, in ORDER_STATUSES order. */
  const reached = new Uint8Array(limit);
  /** Epoch milliseconds: when the order reached each status, and when that station took it (NaN: not said). */
  const at = new Float64Array(limit * STATUSES);
  const startedAt = new Float64Array(limit * STATUSES);
  /** Trace id (16 bytes) and request hash (32 bytes), with a bit each in `has` saying whether they are set. */
  const traceIds = Buffer.alloc(limit * 16);
  const hashes = Buffer.alloc(limit * 32);
  const has = new Uint8Array(limit);
  const HAS_TRACE = 1;
  const HAS_HASH = 2;
  const reasonsOf = new Map<number, RejectionReason[]>();
  let next = 0;

  const claims = new Map<string, OrderClaim>();
  const claim = (change: OrderStatusChange) => {
    if (ids.slotOf(change.orderId) !== undefined || !change.claimId || !change.requestHash) return;
    const owner = claims.get(change.orderId);
    if (owner && Date.parse(change.at) - Date.parse(owner.at) <= CLAIM_TTL_MS) return;
    claims.delete(change.orderId);
    claims.set(change.orderId, { claimId: change.claimId, requestHash: change.requestHash, at: change.at });
    if (claims.size > limit) claims.delete(claims.keys().next().value!);
  };

  /** A slot for a new order: the next in the ring, forgetting the oldest order when the ring is full. */
  const newSlot = (orderId: string, orderChannel: Channel) => {
    const slot = next;
    next = (next + 1) % limit;
    ids.set(slot, orderId);
    reasonsOf.delete(slot);
    channel[slot] = CHANNELS.indexOf(orderChannel);
    status[slot] = 0;
    reached[slot] = 0;
    has[slot] = 0;
    return slot;
  };

  /** Where a slot's time for the status at index `s` of ORDER_STATUSES is kept in `at` and `startedAt`. */
  const cell = (slot: number, s: number) => slot * STATUSES + s;
  const iso = (ms: number) => new Date(ms).toISOString();
  const recordOf = (slot: number): OrderRecord => {
    // ORDER_STATUSES is in STATUS_RANK order, so the history comes out sorted.
    const history: OrderRecord['history'] = [];
    for (let s = 0; s < STATUSES; s++) {
      if (!(reached[slot]! & (1 << s))) continue;
      const started = startedAt[cell(slot, s)]!;
      history.push({
        status: ORDER_STATUSES[s]!,
        at: iso(at[cell(slot, s)]!),
        ...(Number.isNaN(started) ? {} : { startedAt: iso(started) }),
      });
    }
    const reasons = reasonsOf.get(slot);
    return {
      orderId: ids.idOf(slot),
      channel: CHANNELS[channel[slot]!]!,
      status: ORDER_STATUSES[status[slot]!]!,
      ...(has[slot]! & HAS_TRACE ? { traceId: traceIds.toString('hex', slot * 16, slot * 16 + 16) } : {}),
      ...(reasons ? { reasons } : {}),
      ...(has[slot]! & HAS_HASH ? { requestHash: hashes.toString('hex', slot * 32, slot * 32 + 32) } : {}),
      history,
    };
  };

  return {
    apply(change, trace) {
      if (change.status === 'claimed') return claim(change);
      claims.delete(change.orderId);
      const s = ORDER_STATUSES.indexOf(change.status);
      let slot = ids.slotOf(change.orderId);
      if (slot === undefined) {
        // The topic's contract makes every order id a UUID; anything else cannot be kept, nor asked for.
        if (!isUuid(change.orderId)) return;
        slot = newSlot(change.orderId, change.channel);
      }
      if (trace && !(has[slot]! & HAS_TRACE)) {
        const id = trace.traceId;
        if (id && TRACE_ID.test(id)) {
          traceIds.write(id, slot * 16, 'hex');
          has[slot]! |= HAS_TRACE;
        }
      }
      const time = instantMs(change.at);
      // Every station writes toISOString(); a time JavaScript cannot read (a leap second) is not one it wrote.
      if (reached[slot]! & (1 << s) || Number.isNaN(time)) return;
      reached[slot]! |= 1 << s;
      at[cell(slot, s)] = time;
      startedAt[cell(slot, s)] = change.startedAt ? instantMs(change.startedAt) : Number.NaN;
      if (STATUS_RANK[change.status] >= STATUS_RANK[ORDER_STATUSES[status[slot]!]!]) status[slot] = s;
      if (change.reasons) reasonsOf.set(slot, change.reasons);
      // The first `accepted` names the order's request; a late one (after its claim had timed out) does not replace it.
      if (change.requestHash && change.status === 'accepted' && !(has[slot]! & HAS_HASH)) {
        hashes.write(change.requestHash, slot * 32, 'hex');
        has[slot]! |= HAS_HASH;
      }
    },
    get(orderId) {
      const slot = ids.slotOf(orderId);
      return slot === undefined ? undefined : recordOf(slot);
    },
    claimOf: (orderId) => claims.get(orderId),
    get size() {
      return ids.size;
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
    // A status is an event on the span that sent it: reading it here tells the order's trace nothing new (the order's
    // timeline in GET /orders/{id} shows when each status came). The trace id still comes from its headers.
    traced: false,
    log,
    onMessage: (change, meta) => history.apply(change, meta),
  });
  await follower.caughtUp;
  log.info(
    {
      orders: history.size,
      messages: follower.historyRead,
      ms: Math.round(performance.now() - started),
      rssMb: Math.round(process.memoryUsage.rss() / 1e6),
    },
    'caught up with the order history',
  );
  return follower;
}
