import { withBaggage } from '../telemetry/spans.ts';

/** Baggage keys that become attributes of every span started under them: the order's identity and the load run. */
export const ORDER_BAGGAGE_KEYS = ['ituna.order.id', 'ituna.order.channel', 'ituna.run.id'] as const;

/** The order's identity as baggage entries. */
export function orderBaggage(order: { orderId: string; channel: string }): Record<string, string> {
  return { 'ituna.order.id': order.orderId, 'ituna.order.channel': order.channel };
}

/** Runs `work` with the order's identity in baggage, so every span started inside (and across Kafka) records it. */
export function withOrderBaggage<T>(order: { orderId: string; channel: string }, work: () => T): T {
  return withBaggage(orderBaggage(order), work);
}
