import { exampleDirectOrder, exampleOnlineOrder, exampleOnsiteOrder } from '../../gateway/schemas.ts';

/** Orders the tests place: the API's own examples, which the validation worker accepts and the kitchen cooks. */
export const onlineOrder = exampleOnlineOrder;
export const onsiteOrder = exampleOnsiteOrder;
export const directOrder = exampleDirectOrder;

/**
 * The span names of `onlineOrder`'s trace, sorted: the order's story in 12 spans — the HTTP call, each hop of the order
 * with its producer and consumer, the checks, the chef wait, cooking and its two dishes. Status updates are events on
 * the spans that made them.
 */
export const ONLINE_ORDER_STORY = [
  'POST /orders/online',
  'cook order',
  'prepare miso-soup',
  'prepare tuna-nigiri',
  'process kitchen.tickets',
  'process orders.placed',
  'send kitchen.tickets',
  'send orders.placed',
  'validate address',
  'validate inventory',
  'validate name',
  'wait for chef',
];

/** A valid `orders.placed` message value for an order id. */
export function placedOrder(orderId: string, at = new Date().toISOString()) {
  return { orderId, channel: 'online' as const, placedAt: at, ...onlineOrder };
}
