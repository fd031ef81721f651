import { exampleDirectOrder, exampleOnlineOrder, exampleOnsiteOrder } from '../../gateway/schemas.ts';

/** Orders the tests place: the API's own examples, which the validation worker accepts and the kitchen cooks. */
export const onlineOrder = exampleOnlineOrder;
export const onsiteOrder = exampleOnsiteOrder;
export const directOrder = exampleDirectOrder;

/** A valid `orders.placed` message value for an order id. */
export function placedOrder(orderId: string, at = new Date().toISOString()) {
  return { orderId, channel: 'online' as const, placedAt: at, ...onlineOrder };
}
