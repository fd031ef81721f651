import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { FETCH_WAIT_MS } from './kafka.ts';
import { tagConsumerSpan } from './worker.ts';
import type { Logger } from './logger.ts';
import { controlTopic } from './topics/index.ts';
import type { ControlChange } from './topics/index.ts';

/**
 * Follows `ituna.control` from now on (its own consumer group, latest offset): a change made while the
 * pipeline runs reaches every running worker; a worker that starts later begins from its environment.
 * Resolves once the consumer has joined, so no change made after that is missed.
 */
export async function followControl(
  kafka: Kafka,
  log: Logger,
  apply: (change: ControlChange) => void,
): Promise<{ stop(): Promise<void> }> {
  const groupId = `ituna-control-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: FETCH_WAIT_MS });
  await consumer.connect();
  await consumer.subscribe({ topic: controlTopic.name, fromBeginning: false });
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  // A group of its own that starts at the end: no offset is ever read back, so none is committed.
  await consumer.run({
    autoCommit: false,
    eachMessage: async (payload) => {
      const { message } = payload;
      tagConsumerSpan(payload, groupId);
      try {
        const change = controlTopic.decode(message.value);
        apply(change);
        log.info({ change }, 'settings changed');
      } catch (error) {
        log.warn({ err: error }, 'ignored a control message that could not be applied');
      }
    },
  });
  await joined;
  return { stop: () => consumer.disconnect() };
}
