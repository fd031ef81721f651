import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka, Producer } from 'kafkajs';
import type { Logger } from '../logger.ts';
import { recordingPartitioner } from './partitioner.ts';
import { DEFAULT_LINGER_MS, sendAcknowledged, startSends, takeFitting } from './publish.ts';
import type { Delivery, MessagingServer, Outgoing, TracedSends } from './publish.ts';

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
  /**
   * Stages `messages` and marks `offset` consumed, to be committed together in the partition's next transaction
   * (shared with the work staged around it); resolves once committed, rejects with ClaimFailedError if it was not.
   * That transaction first waits for `after` (another producer's send that must come before these messages); if
   * `after` fails, so does the transaction.
   */
  stage(partition: number, offset: string, messages: Outgoing[], after?: Promise<unknown>): Promise<Delivery[]>;
  /**
   * After a failed transaction of `partition`: the offset its consumer must read again from (the first message whose
   * work was lost). Until the consumer is back there, no work of the partition may commit: its offset would pass the
   * lost work. Undefined when nothing failed.
   */
  rewindTo(partition: number): number | undefined;
  /** The consumer is back at the offset of `rewindTo`: the partition's work may commit again. */
  rewound(partition: number): void;
  /** Forgets the claims on partitions this replica no longer owns after a rebalance. */
  keepOnly(partitions: number[]): void;
  /** Commits what is staged, then lets go of every claim. */
  stop(): Promise<void>;
}

interface Staged {
  offset: number;
  messages: Outgoing[];
  after?: Promise<unknown>;
  sends: TracedSends;
  resolve(deliveries: Delivery[]): void;
  reject(error: unknown): void;
}

interface Claimed {
  producer: Promise<Producer>;
  staged: Staged[];
  committing?: Promise<void>;
  timer?: NodeJS.Timeout;
  failed: boolean;
}

/**
 * Errors of a transaction's offsets (AddOffsetsToTxn, then TxnOffsetCommit) after which the same call succeeds, and
 * how long to wait before it. The coordinator still writes the markers of the partition's last transaction
 * (CONCURRENT_TRANSACTIONS); the group's coordinator moved to another broker or is still loading the group (a
 * broker failed or restarted, a fresh cluster). kafkajs 2.2.4 means to retry the last three itself, but lists them
 * under names its own errors do not carry (`NOT_COORDINATOR` for `NOT_COORDINATOR_FOR_GROUP`, …), so without this
 * the transaction fails and the partition's work is done again. Each call looks both coordinators up anew.
 */
const OFFSETS_RETRY_MS: Record<string, number> = {
  CONCURRENT_TRANSACTIONS: 10,
  NOT_COORDINATOR_FOR_GROUP: 100,
  GROUP_COORDINATOR_NOT_AVAILABLE: 100,
  GROUP_LOAD_IN_PROGRESS: 100,
};

/**
 * Runs `sendOffsets` again after the errors of OFFSETS_RETRY_MS for up to `retryForMs`: the caller keeps that well
 * inside the transaction's timeout, after which the broker aborts the transaction anyway.
 */
export async function retryingOffsets<T>(sendOffsets: () => Promise<T>, retryForMs: number): Promise<T> {
  const deadline = performance.now() + retryForMs;
  for (;;) {
    try {
      return await sendOffsets();
    } catch (error) {
      const waitMs = OFFSETS_RETRY_MS[(error as { type?: string }).type ?? ''];
      if (waitMs === undefined || performance.now() + waitMs > deadline) throw error;
      await sleep(waitMs);
    }
  }
}

/**
 * Fencing by partition with Kafka transactions. Each partition of the consumed topic has one transactional id;
 * claiming it (InitProducerId) bumps the id's epoch, which aborts whatever the partition's previous owner left open
 * and makes every later send or commit of that owner fail. So at any time at most one replica can commit work for a
 * partition, and a replica that resumes after losing it (a long pause, a network split) commits nothing.
 * `onClaimed` runs after the fence and before the partition's first message: there a replica reads what earlier
 * owners committed (the fence waits for their last transaction to finish), so it can tell work already done.
 *
 * A transaction per message would cost its round trips on every message and hold the partition's next message
 * until the markers are written; instead each partition keeps one batch open, and its transaction commits every
 * message's output and offset staged within a few milliseconds, or while the previous transaction committed and the
 * few milliseconds after.
 */
export function createPartitionClaims(
  kafka: Kafka,
  {
    groupId,
    topic,
    onClaimed,
    log,
    server,
    onFailed,
    transactionTimeoutMs = 3000,
    lingerMs = DEFAULT_LINGER_MS,
  }: {
    groupId: string;
    topic: string;
    onClaimed(partition: number): Promise<void>;
    log: Logger;
    /** The broker the producer spans name. */
    server?: MessagingServer;
    /** A transaction failed: the consumer must read `partition` again from `offset` (a seek). */
    onFailed?(partition: number, offset: number): void;
    /** How long a transaction left open by a crashed replica holds back readers before the broker aborts it. */
    transactionTimeoutMs?: number;
    /**
     * How long staged work waits for more to share its transaction (ITUNA_KAFKA_LINGER_MS); work staged during a
     * commit waits for that commit, then as long again.
     */
    lingerMs?: number;
  },
): PartitionClaims {
  const claims = new Map<number, Claimed>();
  // Partitions whose transaction failed, with the first offset whose work was lost (see `rewindTo`).
  const rewinds = new Map<number, number>();

  const failAll = (claimed: Claimed, partition: number, error: unknown) => {
    claimed.failed = true;
    clearTimeout(claimed.timer);
    const lost = claimed.staged.splice(0);
    const failure = new ClaimFailedError(topic, partition, error);
    for (const item of lost) {
      item.sends.failed(failure);
      item.reject(failure);
    }
    if (lost.length > 0) {
      const first = Math.min(...lost.map((item) => item.offset), rewinds.get(partition) ?? Infinity);
      rewinds.set(partition, first);
      // Never throws: every staged item above must have its answer whatever the consumer does with the news.
      try {
        onFailed?.(partition, first);
      } catch (seekError) {
        log.warn({ err: seekError, topic, partition, offset: first }, 'could not rewind the consumer yet');
      }
    }
  };

  const release = (partition: number) => {
    const claimed = claims.get(partition);
    if (!claimed) return;
    claims.delete(partition);
    failAll(claimed, partition, new Error('the partition went to another replica'));
    void claimed.producer.then((producer) => producer.disconnect()).catch(() => {});
  };

  const claimOf = (partition: number): Claimed => {
    let claimed = claims.get(partition);
    if (!claimed) {
      const producer = (async () => {
        const p = kafka.producer({
          transactionalId: `${groupId}.${topic}.${partition}`,
          idempotent: true,
          maxInFlightRequests: 1,
          createPartitioner: recordingPartitioner,
          transactionTimeout: transactionTimeoutMs,
          // A partition's next transaction often finds the coordinator still writing the last one's markers
          // (CONCURRENT_TRANSACTIONS, retriable): the Java client retries these after 20 ms; so do we, then back off.
          retry: { initialRetryTime: 10, maxRetryTime: 50, retries: 30 },
        });
        await p.connect();
        try {
          // The first transaction initialises the producer id: that is the fence. Nothing is sent in it.
          await (await p.transaction()).abort();
          await onClaimed(partition);
        } catch (error) {
          // A claim that failed is tried afresh with a producer of its own: this one would hold its connections.
          await p.disconnect().catch(() => {});
          throw error;
        }
        log.info({ topic, partition }, 'partition claimed');
        return p;
      })();
      claimed = { producer, staged: [], failed: false };
      const own = claimed;
      claims.set(partition, own);
      producer.catch(() => {
        if (claims.get(partition) === own) claims.delete(partition);
      });
    }
    return claimed;
  };

  /**
   * Commits what `partition` has staged a window from now, unless a commit or a window is already under way: work staged
   * during a commit waits for that commit, then the window too (the coordinator first writes the last transaction's
   * markers, and a transaction begun before they are written is refused, CONCURRENT_TRANSACTIONS, and backs off).
   */
  const scheduleCommit = (partition: number, claimed: Claimed) => {
    if (claimed.committing || claimed.timer || claimed.staged.length === 0) return;
    claimed.timer = setTimeout(() => commit(partition, claimed), lingerMs);
  };

  /** Commits what `partition` has staged in one transaction, then schedules anything staged meanwhile. */
  const commit = (partition: number, claimed: Claimed) => {
    clearTimeout(claimed.timer);
    claimed.timer = undefined;
    if (claimed.committing || claimed.staged.length === 0 || claimed.failed) return;
    // A transaction holds what fits in one produce request; the rest commits in the next one.
    const batch = takeFitting(claimed.staged, (item) => item.messages);
    claimed.committing = (async () => {
      const producer = await claimed.producer;
      const transaction = await producer.transaction();
      try {
        await Promise.all(batch.map((item) => item.after));
        const messages = batch.flatMap((item) => item.messages);
        const deliveries =
          messages.length > 0 ? await sendAcknowledged((request) => transaction.sendBatch(request), messages) : [];
        const next = Math.max(...batch.map((item) => item.offset)) + 1;
        await retryingOffsets(
          () =>
            transaction.sendOffsets({
              consumerGroupId: groupId,
              topics: [{ topic, partitions: [{ partition, offset: String(next) }] }],
            }),
          // Two thirds of the timeout, so that the commit after still has time.
          (transactionTimeoutMs * 2) / 3,
        );
        await transaction.commit();
        let at = 0;
        for (const item of batch) {
          const own = deliveries.slice(at, at + item.messages.length);
          at += item.messages.length;
          item.sends.delivered(own);
          item.resolve(own);
        }
      } catch (error) {
        log.warn(
          { err: error, topic, partition, messages: batch.length },
          'a transaction failed: nothing of it is committed, and its messages will be delivered again',
        );
        await transaction.abort().catch(() => {});
        claimed.staged.unshift(...batch);
        failAll(claimed, partition, error);
        // The claim is no longer trusted: the next message claims anew once the consumer restarts.
        if (claims.get(partition) === claimed) release(partition);
      }
    })().finally(() => {
      claimed.committing = undefined;
      scheduleCommit(partition, claimed);
    });
  };

  return {
    async claim(partition) {
      try {
        await claimOf(partition).producer;
      } catch (error) {
        throw new ClaimFailedError(topic, partition, error);
      }
    },
    stage(partition, offset, messages, after) {
      // After a failed transaction nothing more of the partition may commit: its offset would pass the lost work.
      if (rewinds.has(partition))
        return Promise.reject(new ClaimFailedError(topic, partition, 'an earlier commit failed'));
      const claimed = claimOf(partition);
      const sends = startSends(messages, server);
      // Its failure is the transaction's, whenever that awaits it: not an unhandled rejection meanwhile.
      after?.catch(() => {});
      return new Promise<Delivery[]>((resolve, reject) => {
        claimed.staged.push({ offset: Number(offset), messages, after, sends, resolve, reject });
        scheduleCommit(partition, claimed);
      });
    },
    rewindTo: (partition) => rewinds.get(partition),
    rewound: (partition) => void rewinds.delete(partition),
    keepOnly(partitions) {
      for (const partition of [...claims.keys()]) if (!partitions.includes(partition)) release(partition);
      // A partition that went elsewhere is read by its new owner from the committed offset.
      for (const partition of [...rewinds.keys()]) if (!partitions.includes(partition)) rewinds.delete(partition);
    },
    async stop() {
      for (;;) {
        for (const [partition, claimed] of claims) commit(partition, claimed);
        const committing = [...claims.values()].flatMap((c) => (c.committing ? [c.committing] : []));
        if (committing.length === 0) break;
        await Promise.allSettled(committing);
      }
      const producers = await Promise.allSettled([...claims.values()].map((c) => c.producer));
      claims.clear();
      await Promise.all(producers.map((p) => (p.status === 'fulfilled' ? p.value.disconnect() : undefined)));
    },
  };
}
