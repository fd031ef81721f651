import { kitchenTickets, ordersPlaced } from '../common/topics/index.ts';

/**
 * The pipeline's consumer groups that commit offsets, each with the topic it consumes: the workers' definitions and
 * the bottleneck report's lag table read them here. (The followers' groups, `ituna-follower-*`, commit nothing.)
 */
export const CONSUMER_GROUPS = {
  validation: { groupId: 'ituna-order-validation', topic: ordersPlaced },
  kitchen: { groupId: 'ituna-kitchen', topic: kitchenTickets },
} as const;
