import Type from 'typebox';
import type { Static } from 'typebox';
import { CustomerName, DeliveryAddress, OrderId, OrderItems, TableNumber } from '../restaurant/order.ts';
import { defineTopic } from './topic.ts';

export const OrderPlaced = Type.Object(
  {
    orderId: OrderId,
    channel: Type.Enum(['online', 'onsite']),
    placedAt: Type.String({ format: 'date-time' }),
    customerName: CustomerName,
    items: OrderItems,
    deliveryAddress: Type.Optional(DeliveryAddress),
    table: Type.Optional(TableNumber),
  },
  { additionalProperties: false },
);
export type OrderPlaced = Static<typeof OrderPlaced>;

/** Website and on-site orders waiting for validation. */
export const ordersPlaced = defineTopic({
  name: 'orders.placed',
  partitions: 6,
  schema: OrderPlaced,
  key: (o) => o.orderId,
});
