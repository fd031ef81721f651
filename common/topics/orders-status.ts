import Type from 'typebox';
import type { Static } from 'typebox';
import { CHANNELS, ORDER_STATUSES, OrderId, RejectionReason } from '../restaurant/order.ts';
import { duration } from '../config.ts';
import { defineTopic } from './topic.ts';

/**
 * What a message of orders.status says: a status of the order, or `claimed` — a gateway's bid to place an order with
 * an Idempotency-Key, which is not a status of the order: the first live claim of an order id in its partition wins.
 */
const STATUS_MESSAGE_KINDS = [...ORDER_STATUSES, 'claimed'] as const;

export const OrderStatusChange = Type.Object(
  {
    orderId: OrderId,
    channel: Type.Enum(CHANNELS),
    status: Type.Enum(STATUS_MESSAGE_KINDS),
    at: Type.String({ format: 'date-time' }),
    /** When the stage reporting this status took the order from Kafka; the gap before it is queue time. */
    startedAt: Type.Optional(Type.String({ format: 'date-time' })),
    reasons: Type.Optional(Type.Array(RejectionReason)),
    /** On `accepted`, for an order placed with an Idempotency-Key: the SHA-256 of its request, to tell a repeat from a reused key. */
    requestHash: Type.Optional(Type.String({ pattern: '^[0-9a-f]{64}$' })),
    /** On `claimed` and on the `accepted` that follows it: which request's claim this is. */
    claimId: Type.Optional(Type.String({ format: 'uuid' })),
  },
  { additionalProperties: false },
);
export type OrderStatusChange = Static<typeof OrderStatusChange>;

/**
 * Every status change of every order: the orders' history, read by the gateway. A status reports work the order's
 * trace already shows, so sending one is an event on the span that did the work (`send orders.status`, with
 * `ituna.order.status`), not a span of its own; its W3C headers still name the order's trace.
 */
export const ordersStatus = defineTopic({
  name: 'orders.status',
  partitions: 6,
  schema: OrderStatusChange,
  key: (s) => s.orderId,
  asEvent: (s) => ({ 'ituna.order.status': s.status }),
});

/**
 * How much of orders.status a view (the gateway's order history, the kitchen's ready orders) reads when it starts
 * and keeps: the messages of the last `ms`, yet at most `maxMessagesPerPartition` of each partition, and at most
 * `maxOrders` orders in memory. The message cap is what bounds the start time when the window is busy.
 */
export interface HistoryWindow {
  ms: number;
  maxMessagesPerPartition: number;
  maxOrders: number;
}

/** ITUNA_HISTORY_WINDOW: how far back the views of orders.status reach (default 24h, as long as an Idempotency-Key is honoured). */
export const historyWindowVariable = duration('24h', 1000, 30 * 86_400_000);

// About four status changes make one order: six partitions of this many hold the 100 000 orders a view keeps, read
// within the 5 s a service has to start (docs/guarantees.md, "How much history a service reads").
const HISTORY_MESSAGES_PER_PARTITION = 70_000;

/** The window of `ms` with the caps that keep a view's start within a few seconds and its memory bounded. */
export function historyWindow(ms: number): HistoryWindow {
  return { ms, maxMessagesPerPartition: HISTORY_MESSAGES_PER_PARTITION, maxOrders: 100_000 };
}
