import type { Kafka, Producer, ProducerBatch, RecordMetadata } from 'kafkajs';
import type { Logger } from '../logger.ts';
import { createProducer } from './client.ts';

/** The producer a long-lived publisher sends through (common/kafka/publish.ts). */
export interface IdempotentProducer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  sendBatch(batch: ProducerBatch): Promise<RecordMetadata[]>;
  /** Whether it can send now: connected, with a producer id (false while a failed send's replacement connects). */
  isConnected(): boolean;
}

interface Slot {
  producer: Producer;
  connected: boolean;
  connecting?: Promise<void>;
  sending: number;
  retired: boolean;
}

/**
 * An idempotent producer that is replaced by a new one, with a new producer id, after a send that failed.
 *
 * An idempotent producer numbers the messages it sends to each partition; the broker writes a batch only if its
 * numbers continue the partition's, and takes a batch numbered like one it wrote lately for a retry of it: it answers
 * that batch's offset and writes nothing. When a send fails, kafkajs 2.2.4 takes the send's numbers back, as if the
 * broker had written none of it. But a request that timed out, or whose connection closed under it (a broker stalled
 * or restarting), may have been written all the same. The next batch to such a partition reuses numbers the broker
 * already has: acknowledged and never written when it has as many messages as the one before (an accepted order lost),
 * refused with OUT_OF_ORDER_SEQUENCE_NUMBER on every send after if not. The Java client starts new numbers then; kafkajs
 * never does, so this starts a new producer. A message of the failed send that its caller sends again may then be
 * written twice: the consumers tell a repeat (at least once, never lost).
 *
 * The failed producer finishes the sends it has in flight before it disconnects. A transactional producer needs none of
 * this: a failed transaction gives its partition's claim up, and the next claim's producer gets a new epoch.
 */
export function createIdempotentProducer(kafka: Kafka, log: Logger): IdempotentProducer {
  const slotOf = (): Slot => ({ producer: createProducer(kafka), connected: false, sending: 0, retired: false });
  let current = slotOf();
  let stopped = false;

  const connect = (slot: Slot): Promise<void> => {
    slot.connecting ??= (async () => {
      try {
        await slot.producer.connect();
        slot.connected = true;
      } finally {
        slot.connecting = undefined;
      }
    })();
    return slot.connecting;
  };

  const retire = (slot: Slot, error: unknown) => {
    if (slot.retired || stopped) return;
    slot.retired = true;
    log.warn(
      { err: error },
      'a send failed: the producer starts again with a new producer id, so that Kafka cannot take a later message for a repeat',
    );
    current = slotOf();
    // Connects now, so the next send does not wait for it; a failure here is the next send's to report.
    connect(current).catch(() => {});
  };

  const disconnectIfDone = (slot: Slot) => {
    if (slot.retired && slot.sending === 0) slot.producer.disconnect().catch(() => {});
  };

  return {
    connect: () => connect(current),
    async disconnect() {
      stopped = true;
      await current.producer.disconnect();
    },
    async sendBatch(batch) {
      const slot = current;
      if (!slot.connected) await connect(slot);
      slot.sending++;
      try {
        return await slot.producer.sendBatch(batch);
      } catch (error) {
        retire(slot, error);
        throw error;
      } finally {
        slot.sending--;
        disconnectIfDone(slot);
      }
    },
    isConnected: () => current.connected,
  };
}
