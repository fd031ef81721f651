import { deadLetterTopicOf } from './topic.ts';
import { ordersPlaced } from './orders-placed.ts';
import { kitchenTickets } from './kitchen-tickets.ts';
import { ordersStatus } from './orders-status.ts';
import { controlTopic } from './control.ts';

// The topic contracts in the order the data flows: placed orders → kitchen tickets → statuses; settings on the side.
export * from './topic.ts';
export * from './orders-placed.ts';
export * from './kitchen-tickets.ts';
export * from './orders-status.ts';
export * from './control.ts';

/** Every topic of the pipeline with its partition count, dead-letter topics included. */
export const ALL_TOPICS: ReadonlyArray<{ name: string; partitions: number }> = [
  ...[ordersPlaced, kitchenTickets, ordersStatus].flatMap((topic) => [
    { name: topic.name, partitions: topic.partitions },
    { name: deadLetterTopicOf(topic.name), partitions: 1 },
  ]),
  { name: controlTopic.name, partitions: controlTopic.partitions },
];
