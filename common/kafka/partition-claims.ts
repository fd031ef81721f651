import type { Kafka, Producer } from 'kafkajs';
import type { Logger } from '../logger.ts';
import { recordingPartitioner } from './client.ts';
import { sendAcknowledged, sendTraced } from './publish.ts';
import type { Outgoing } from './publish.ts';

/**
 * A claim or a commit failed — another replica claimed the partition since, or Kafka itself failed — so nothing of
 * the message's work is published; the consumer restarts and the group settles who owns what (`retriable` is what
 * tells kafkajs to restart rather than stop).
 */
export class ClaimFailedError extends Error {
  readonly retriable = true;
  constructor(topic: string, partition: number, cause: unknown) {
    super(
      `the transaction on ${topic}/${partition} failed (another replica claimed the partition, or Kafka failed): nothing of it is committed`,
      { cause },
    );
    this.name = 'ClaimFailedError';
  }
}

/** Partitions of one consumed topic that this replica has claimed, and the one way to commit work on them. */
export interface PartitionClaims {
  /** Claims a partition (once per assignment): fences every earlier claimant, then runs `onClaimed`. */
  claim(partition: number): Promise<void>;
  /** Sends `messages` and commits `offset` as consumed, in one transaction; throws ClaimFailedError when fenced. */
  commit(partition: number, offset: string, messages: Outgoing[]): Promise<void>;
  /** Forgets the claims on partitions this replica no longer owns after a rebalance. */
  keepOnly(partitions: number[]): void;
  stop(): Promise<void>;
}

/**
 * Fencing by partition with Kafka transactions. Each partition of the consumed topic has one transactional id;
 * claiming it (InitProducerId) bumps the id's epoch, which aborts whatever the partition's previous owner left open
 * and makes every later send or commit of that owner fail. So at any time at most one replica can commit work for a
 * partition, and a replica that resumes after losing it (a long pause, a network split) commits nothing.
 * `onClaimed` runs after the fence and before the partition's first message: there a replica reads what earlier
 * owners committed (the fence waits for their last transaction to finish), so it can tell work already done.
 */
export function createPartitionClaims(
  kafka: Kafka,
  {
    groupId,
    topic,
    onClaimed,
    log,
    transactionTimeoutMs = 10_000,
  }: {
    groupId: string;
    topic: string;
    onClaimed(partition: number): Promise<void>;
    log: Logger;
    /** How long a transaction left open by a crashed replica holds back readers before the broker aborts it. */
    transactionTimeoutMs?: number;
  },
): PartitionClaims {
  const claims = new Map<number, Promise<Producer>>();

  const release = (partition: number) => {
    const claim = claims.get(partition);
    claims.delete(partition);
    void claim?.then((producer) => producer.disconnect()).catch(() => {});
  };

  const claim = (partition: number): Promise<Producer> => {
    let claimed = claims.get(partition);
    if (!claimed) {
      claimed = (async () => {
        const producer = kafka.producer({
          transactionalId: `${groupId}.${topic}.${partition}`,
          idempotent: true,
          maxInFlightRequests: 1,
          createPartitioner: recordingPartitioner,
          transactionTimeout: transactionTimeoutMs,
          // A partition's next transaction often finds the coordinator still writing the last one's markers
          // (CONCURRENT_TRANSACTIONS, retriable): retried after kafkajs's usual 100 ms, every ticket after the first
          // would wait that long. The Java client retries these after 20 ms; so do we, then back off as usual.
          retry: { initialRetryTime: 10, retries: 12 },
        });
        await producer.connect();
        // The first transaction initialises the producer id: that is the fence. Nothing is sent in it.
        await (await producer.transaction()).abort();
        await onClaimed(partition);
        log.info({ topic, partition }, 'partition claimed');
        return producer;
      })();
      claims.set(partition, claimed);
      claimed.catch(() => claims.get(partition) === claimed && claims.delete(partition));
    }
    return claimed;
  };

  return {
    async claim(partition) {
      try {
        await claim(partition);
      } catch (error) {
        throw new ClaimFailedError(topic, partition, error);
      }
    },
    async commit(partition, offset, messages) {
      const producer = await claim(partition);
      const transaction = await producer.transaction();
      try {
        await sendTraced(messages, (batch) => sendAcknowledged((request) => transaction.sendBatch(request), batch));
        await transaction.sendOffsets({
          consumerGroupId: groupId,
          topics: [{ topic, partitions: [{ partition, offset: String(Number(offset) + 1) }] }],
        });
        await transaction.commit();
      } catch (error) {
        await transaction.abort().catch(() => {});
        // Whatever failed — a fence, a broker away — the claim is no longer trusted: the next message claims anew.
        release(partition);
        throw new ClaimFailedError(topic, partition, error);
      }
    },
    keepOnly(partitions) {
      for (const partition of [...claims.keys()]) if (!partitions.includes(partition)) release(partition);
    },
    async stop() {
      const producers = await Promise.allSettled([...claims.values()]);
      claims.clear();
      await Promise.all(producers.map((p) => (p.status === 'fulfilled' ? p.value.disconnect() : undefined)));
    },
  };
}
