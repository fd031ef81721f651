import Type from 'typebox';
import type { Static } from 'typebox';
import { CHANNELS, ORDER_STATUSES, OrderId, RejectionReason } from '../restaurant/order.ts';
import { defineTopic } from './topic.ts';

export const OrderStatusChange = Type.Object(
  {
    orderId: OrderId,
    channel: Type.Enum(CHANNELS),
    status: Type.Enum(ORDER_STATUSES),
    at: Type.String({ format: 'date-time' }),
    /** When the stage reporting this status took the order from Kafka; the gap before it is queue time. */
    startedAt: Type.Optional(Type.String({ format: 'date-time' })),
    reasons: Type.Optional(Type.Array(RejectionReason)),
    /** On `accepted`, for an order placed with an Idempotency-Key: the SHA-256 of its request, to tell a repeat from a reused key. */
    requestHash: Type.Optional(Type.String({ pattern: '^[0-9a-f]{64}$' })),
  },
  { additionalProperties: false },
);
export type OrderStatusChange = Static<typeof OrderStatusChange>;

/** Every status change of every order: the orders' history, read by the gateway. */
export const ordersStatus = defineTopic({ name: 'orders.status', partitions: 6, schema: OrderStatusChange, key: (s) => s.orderId });
