import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { FETCH_WAIT_MS, endOffsets } from '../../common/kafka.ts';
import type { Logger } from '../../common/logger.ts';
import { tagConsumerSpan } from '../../common/worker.ts';
import { ordersStatus } from '../../common/topics/index.ts';

/** Orders the kitchen has already reported ready, so a redelivered ticket is never cooked twice. */
export interface ReadyOrders {
  has(orderId: string): boolean;
  add(orderId: string): void;
  readonly size: number;
  stop(): Promise<void>;
}

/**
 * Rebuilds the set from `orders.status` (every `ready` ever reported, newest `limit` kept) and keeps following it.
 * Resolves only once it has caught up with the topic's end, so the kitchen starts cooking knowing its past.
 */
export async function followReadyOrders(kafka: Kafka, log: Logger, limit = 1_000_000): Promise<ReadyOrders> {
  const ready = new Set<string>();
  const add = (orderId: string) => {
    ready.add(orderId);
    if (ready.size > limit) ready.delete(ready.values().next().value!);
  };

  // Offsets still to read per partition before the set is complete.
  const behind = new Map((await endOffsets(kafka, ordersStatus.name)).map((p) => [p.partition, p.end]));
  let caughtUp: () => void = () => {};
  const complete = new Promise<void>((resolve) => (caughtUp = resolve));
  if (behind.size === 0) caughtUp();

  const groupId = `ituna-kitchen-ready-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: FETCH_WAIT_MS });
  await consumer.connect();
  await consumer.subscribe({ topic: ordersStatus.name, fromBeginning: true });
  // A group of its own that always starts from the beginning: no offset is ever read back, so none is committed.
  await consumer.run({
    autoCommit: false,
    eachMessage: async (payload) => {
      const { partition, message } = payload;
      tagConsumerSpan(payload, groupId);
      try {
        const change = ordersStatus.decode(message.value);
        if (change.status === 'ready') add(change.orderId);
      } catch {
        // A bad status message is the gateway's to dead-letter; here it simply says nothing about cooking.
      }
      const end = behind.get(partition);
      if (end !== undefined && Number(message.offset) + 1 >= end) {
        behind.delete(partition);
        if (behind.size === 0) caughtUp();
      }
    },
  });
  const started = performance.now();
  await complete;
  log.info({ readyOrders: ready.size, ms: Math.round(performance.now() - started) }, 'caught up with the orders already cooked');
  return { has: (id) => ready.has(id), add, get size() { return ready.size; }, stop: () => consumer.disconnect() };
}
