import Type from 'typebox';
import type { Static } from 'typebox';
import { CHANNELS, OrderId, OrderItems } from '../restaurant/order.ts';
import { defineTopic } from './topic.ts';

export const KitchenTicket = Type.Object(
  {
    orderId: OrderId,
    channel: Type.Enum(CHANNELS),
    ticketedAt: Type.String({ format: 'date-time' }),
    items: OrderItems,
  },
  { additionalProperties: false },
);
export type KitchenTicket = Static<typeof KitchenTicket>;

/** Orders the kitchen must cook: validated ones, and management's direct orders. */
export const kitchenTickets = defineTopic({
  name: 'kitchen.tickets',
  partitions: 6,
  schema: KitchenTicket,
  key: (t) => t.orderId,
});
