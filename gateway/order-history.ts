import type { Channel, OrderStatus, RejectionReason } from '../common/restaurant/order.ts';
import { CHANNELS, ORDER_STATUSES, STATUS_RANK } from '../common/restaurant/order.ts';
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

/** A W3C trace id: what a traceparent header carries, so what the history can keep as 16 bytes. */
const TRACE_ID = /^[0-9a-f]{32}$/;

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

/**
 * An in-memory order history in which a status only moves forward, whatever order the changes arrive in.
 *
 * Kept as columns of numbers and bytes in a ring of `limit` slots rather than an object of strings per order, and each
 * order id as its 16 bytes rather than a string in a Map, so a full history costs about 170 bytes an order
 * (docs/benchmarks-history.md, tuning 13; BENCHMARKS.md). `get` builds the record when asked.
 */
export function createOrderHistory(limit = 100_000, windowMs?: number): OrderHistory {
  const STATUSES = ORDER_STATUSES.length;
  const ids = uuidIndex(limit);
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
    apply(change, traceId) {
      if (change.status === 'claimed') return claim(change);
      claims.delete(change.orderId);
      const s = ORDER_STATUSES.indexOf(change.status);
      let slot = ids.slotOf(change.orderId);
      if (slot === undefined) {
        // The topic's contract makes every order id a UUID; anything else cannot be kept, nor asked for.
        if (!isUuid(change.orderId)) return;
        slot = newSlot(change.orderId, change.channel);
      }
      if (traceId && !(has[slot]! & HAS_TRACE) && TRACE_ID.test(traceId)) {
        traceIds.write(traceId, slot * 16, 'hex');
        has[slot]! |= HAS_TRACE;
      }
      const time = Date.parse(change.at);
      // Every station writes toISOString(); a time JavaScript cannot read (a leap second) is not one it wrote.
      if (reached[slot]! & (1 << s) || Number.isNaN(time)) return;
      reached[slot]! |= 1 << s;
      at[cell(slot, s)] = time;
      startedAt[cell(slot, s)] = change.startedAt ? Date.parse(change.startedAt) : Number.NaN;
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

/** Whether `id` is a UUID in its usual form (8-4-4-4-12 hex digits, either case). */
const isUuid = (id: string) => UUID.test(id);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The hex digit a character code stands for (the caller has checked it is one). */
const nibble = (code: number) => (code <= 57 ? code - 48 : (code | 32) - 87);

/**
 * The order ids of a ring of `limit` slots, each kept as its 16 bytes, and found again through an open-addressing
 * table of slot numbers (linear probing, at most half full): about 24 bytes an order, where a Map of id strings takes
 * about a hundred. Ids come back in lower case.
 */
function uuidIndex(limit: number) {
  const bytes = Buffer.alloc(limit * 16);
  const used = new Uint8Array(limit);
  const capacity = 2 ** Math.ceil(Math.log2(limit * 2 + 1));
  const mask = capacity - 1;
  /** slot + 1 at each position; 0 is empty. */
  const table = new Int32Array(capacity);
  /** Where a lookup puts the id it looks for. */
  const probe = Buffer.alloc(16);
  let size = 0;

  const write = (id: string, into: Buffer, at: number) => {
    for (let i = 0, b = at; i < 36; i++) {
      if (i === 8 || i === 13 || i === 18 || i === 23) continue;
      into[b++] = (nibble(id.charCodeAt(i)) << 4) | nibble(id.charCodeAt(++i));
    }
  };
  /** Where an id's probe starts: all 16 bytes mixed (murmur3's finalizer), as ids need not be random (tests' are not). */
  const home = (from: Buffer, at: number) => {
    let h = 0;
    for (let w = 0; w < 16; w += 4) h = Math.imul(h ^ from.readInt32LE(at + w), 0x9e3779b1);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    return (h ^ (h >>> 16)) & mask;
  };
  /** The table position of the id in the 16 bytes of `from` at `at`; -1 when the table does not hold it. */
  const positionOf = (from: Buffer, at: number) => {
    for (let i = home(from, at); table[i] !== 0; i = (i + 1) & mask) {
      const slot = table[i]! - 1;
      if (bytes.compare(from, at, at + 16, slot * 16, slot * 16 + 16) === 0) return i;
    }
    return -1;
  };
  const remove = (slot: number) => {
    let hole = positionOf(bytes, slot * 16);
    // Backward-shift deletion: every entry after the hole that could sit in it moves up, so no probe stops early.
    for (let j = (hole + 1) & mask; table[j] !== 0; j = (j + 1) & mask) {
      const k = home(bytes, (table[j]! - 1) * 16);
      const stays = hole <= j ? hole < k && k <= j : hole < k || k <= j;
      if (stays) continue;
      table[hole] = table[j]!;
      hole = j;
    }
    table[hole] = 0;
    used[slot] = 0;
    size--;
  };

  return {
    get size() {
      return size;
    },
    /** The slot of an order id, if it holds one. */
    slotOf(id: string): number | undefined {
      if (!isUuid(id)) return undefined;
      write(id, probe, 0);
      const i = positionOf(probe, 0);
      return i === -1 ? undefined : table[i]! - 1;
    },
    /** Gives `slot` to `id`, forgetting the id it held. */
    set(slot: number, id: string) {
      if (used[slot]) remove(slot);
      write(id, bytes, slot * 16);
      let i = home(bytes, slot * 16);
      while (table[i] !== 0) i = (i + 1) & mask;
      table[i] = slot + 1;
      used[slot] = 1;
      size++;
    },
    idOf(slot: number): string {
      const hex = bytes.toString('hex', slot * 16, slot * 16 + 16);
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    },
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
    onMessage: (change, { traceId }) => history.apply(change, traceId),
  });
  await follower.caughtUp;
  log.info(
    {
      orders: history.size,
      ms: Math.round(performance.now() - started),
      rssMb: Math.round(process.memoryUsage.rss() / 1e6),
    },
    'caught up with the order history',
  );
  return follower;
}
