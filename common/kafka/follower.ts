import { randomUUID } from 'node:crypto';
import { context, trace } from '@opentelemetry/api';
import type { Context } from '@opentelemetry/api';
import { TRACE_PARENT_HEADER, parseTraceParent } from '@opentelemetry/core';
import type { Admin, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from '../logger.ts';
import { FETCH_WAIT_MS, partitionOffsets, untilKafkaAnswers } from './client.ts';
import { tightHeapUntil } from './catch-up-heap.ts';
import { headerOf } from './record-decoding.ts';
import { producerContextOf, startConsumerSpan } from './consumer-span.ts';

const tracer = trace.getTracer('ituna-follower');

/** The most a follower's fetch brings back (kafkajs's default is 10 MB, 1 MB a partition). */
const FOLLOWER_FETCH_BYTES = 1024 * 1024;

/** Where a follower starts reading: the topic's first message, only what arrives from now on, or the first message at or after a time. */
export type FollowFrom = 'beginning' | 'end' | Date;

/** A read-only view of a topic that keeps up with it. */
export interface Follower {
  /** Resolves once every message that was in the topic when the follower started has been handed over. */
  caughtUp: Promise<void>;
  /**
   * Resolves once every message the topic holds now (committed, for transactional writes) has been handed over:
   * a barrier after which the view knows everything written before the call (read-your-writes); rejects when Kafka
   * cannot say where the topic ends, or after `timeoutMs`.
   */
  catchUp(timeoutMs?: number): Promise<void>;
  /**
   * Resolves once the message at `offset` of `partition` (one this process wrote, say) and every one before it in
   * that partition have been handed over; rejects after `timeoutMs`.
   */
  catchUpTo(partition: number, offset: number, timeoutMs?: number): Promise<void>;
  /** Where reading began in each partition (its first offset read). */
  startOffsets: ReadonlyMap<number, number>;
  /** How many messages of history (in the topic when the follower started) have been handed over so far. */
  readonly historyRead: number;
  /** Leaves the topic and deletes the follower's consumer group, so no group is left behind. */
  stop(): Promise<void>;
}

/** What a follower hands over with each message besides its value. */
export interface FollowedMessage {
  partition: number;
  message: KafkaMessage;
  /** The trace id of the message's producer span, from its `traceparent` header. */
  traceId?: string;
  /** True for a message that was in the topic before the follower started. */
  history: boolean;
}

/**
 * A FollowedMessage whose trace id is read from the headers only if asked for: a view that does not keep it spares
 * the parsing. A class, so that the getter is not defined anew on each of a long history's messages. The id is read
 * straight from `traceparent` (in place, or with OpenTelemetry's parser: see `plainTraceParent`) rather than through
 * the propagators: a context and a baggage read for every order would be a few percent of the gateway's start
 * (docs/benchmarks-history.md, tuning 26).
 */
class Followed implements FollowedMessage {
  readonly partition: number;
  readonly message: KafkaMessage;
  readonly history: boolean;
  constructor(partition: number, message: KafkaMessage, history: boolean) {
    this.partition = partition;
    this.message = message;
    this.history = history;
  }
  get traceId() {
    const header = headerOf(this.message, TRACE_PARENT_HEADER);
    if (!header) return undefined;
    return typeof header !== 'string' && plainTraceParent(header)
      ? header.toString('latin1', 3, 35)
      : parseTraceParent(header.toString())?.traceId;
  }
}

/**
 * Whether `bytes` are a traceparent in the form every W3C propagator writes (version 00, lower-case hex, no ids of
 * zeros), whose trace id can then be read in place. OpenTelemetry's parser makes a string, a match and a span context
 * for each order of a history, and that garbage had a fetch's records promoted: read in place, the gateway's
 * catch-up is about an eighth shorter (docs/benchmarks-history.md, tuning 28). Any other form goes to that parser.
 */
function plainTraceParent(bytes: Buffer): boolean {
  if (bytes.length !== 55 || bytes[0] !== 0x30 || bytes[1] !== 0x30) return false;
  if (bytes[2] !== 0x2d || bytes[35] !== 0x2d || bytes[52] !== 0x2d) return false;
  return nonZeroHex(bytes, 3, 35) > 0 && nonZeroHex(bytes, 36, 52) > 0 && nonZeroHex(bytes, 53, 55) >= 0;
}

/** How many of bytes `from` to `to` are other than 0 when all are lower-case hex digits; -1 when one is not. */
function nonZeroHex(bytes: Buffer, from: number, to: number): number {
  let count = 0;
  for (let i = from; i < to; i++) {
    const b = bytes[i]!;
    if (!((b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x66))) return -1;
    if (b !== 0x30) count++;
  }
  return count;
}

/** What a follower needs of a topic: its name and how to read a message's bytes (a topic contract has both). */
export interface ReadableTopic<T> {
  name: string;
  decode(bytes: Buffer | null): T;
}

/**
 * Follows a topic for a read-only view (the gateway's order history, the kitchen's record of what it cooked, the
 * live settings): no producer, no dead-lettering, no committed offsets — a group of its own that is never resumed,
 * deleted when the follower stops. It reads only committed messages of transactions.
 *
 * Catching up creates no spans: a message older than the follower belongs to a trace that may have finished long
 * ago, and reading it again is not part of that order's story. Only messages that arrive once the follower is live
 * get a `process <topic>` CONSUMER span, in the trace of the message's producer (none when the producer was not
 * traced) — unless `traced` is false, for a view whose reading tells an order's trace nothing new.
 *
 * `onMessage` gets decoded values; a message that breaks the topic's contract goes to `onInvalid` (a view skips
 * it; dead-lettering is the consuming worker's job). `historyLimit` caps the history read per partition: with it,
 * a partition starts at most that many messages before its end, whatever `from` says — so that starting takes a
 * bounded time and memory however much the topic holds.
 */
export async function followTopic<T>(
  kafka: Kafka,
  topic: ReadableTopic<T>,
  {
    from = 'beginning',
    historyLimit,
    traced = true,
    fetchWait,
    log,
    onMessage,
    onInvalid,
  }: {
    from?: FollowFrom;
    historyLimit?: number;
    /**
     * How long a fetch may wait for how many bytes; by default a fetch returns as soon as one message is there, or
     * after FETCH_WAIT_MS. A reader that need not see each message at once (a benchmark's, that must not load the
     * broker it measures) fetches less often; one that is mostly idle (a worker's) may wait longer. The
     * heartbeat goes with the fetches, so the wait must stay well under the session's 6 s.
     */
    fetchWait?: { minBytes: number; maxWaitMs: number };
    /** False: no span for any message, live or not. */
    traced?: boolean;
    /** Where an unreadable message is reported when there is no `onInvalid`. */
    log?: Logger;
    onMessage(value: T, meta: FollowedMessage): void;
    onInvalid?(error: Error, meta: FollowedMessage): void;
  },
): Promise<Follower> {
  const groupId = `ituna-follower-${topic.name}-${randomUUID()}`;
  const offsets = await untilKafkaAnswers(
    `reading where ${topic.name} ends`,
    () => partitionOffsets(kafka, topic.name),
    { log },
  );
  const times =
    from instanceof Date
      ? await untilKafkaAnswers(`finding offsets in ${topic.name}`, () => offsetsAt(kafka, topic.name, from), { log })
      : undefined;
  // Where each partition starts, and the offset before which a message is history.
  const starts = new Map<number, number>();
  for (const { partition, low, end } of offsets) {
    let start = from === 'end' ? end : (times?.get(partition) ?? low);
    if (historyLimit !== undefined) start = Math.max(start, end - historyLimit);
    starts.set(partition, Math.max(start, low));
  }
  const historyEnd = new Map(offsets.filter((p) => p.end > starts.get(p.partition)!).map((p) => [p.partition, p.end]));
  // The offset after the last record handed over (or skipped as a transaction marker) in each partition.
  const positions = new Map(starts);

  let markCaughtUp: () => void = () => {};
  const caughtUp = new Promise<void>((resolve) => (markCaughtUp = resolve));
  tightHeapUntil(caughtUp);
  // Callers of catchUp() waiting for some partitions to reach some offsets.
  let waiters: Array<{ ends: Array<{ partition: number; end: number }>; resolve(): void; reject(e: Error): void }> = [];
  // Once stopping, no batch is handed over any more: whoever waits for one is told at once rather than at its timeout.
  let stopping = false;
  const stopped = () => new Error(`${topic.name}: the follower has stopped`);
  const reached = (ends: Array<{ partition: number; end: number }>) =>
    ends.every((p) => (positions.get(p.partition) ?? 0) >= p.end);
  const advance = (partition: number, next: number) => {
    if (next > (positions.get(partition) ?? 0)) positions.set(partition, next);
    if (waiters.length > 0) {
      const done = waiters.filter((w) => reached(w.ends));
      waiters = waiters.filter((w) => !done.includes(w));
      for (const w of done) w.resolve();
    }
    const end = historyEnd.get(partition);
    if (end !== undefined && next >= end) {
      historyEnd.delete(partition);
      if (historyEnd.size === 0) markCaughtUp();
    }
  };
  if (historyEnd.size === 0) markCaughtUp();

  // A group of one member that is never resumed: after a broker restart, the member the group remembers must expire
  // before the new one can join, so the session is as short as the broker allows (group.min.session.timeout.ms).
  const consumer = kafka.consumer({
    groupId,
    allowAutoTopicCreation: false,
    maxWaitTimeInMs: fetchWait?.maxWaitMs ?? FETCH_WAIT_MS,
    ...(fetchWait ? { minBytes: fetchWait.minBytes } : {}),
    sessionTimeout: 6000,
    rebalanceTimeout: 6000,
    heartbeatInterval: 1000,
    // kafkajs decodes a whole fetch response before handing over its first batch, and what is still alive at the next
    // young-generation collection is promoted: small fetches keep a long history's read from filling the old
    // generation with garbage (a view's live traffic is a few messages per fetch anyway).
    maxBytes: FOLLOWER_FETCH_BYTES,
    maxBytesPerPartition: FOLLOWER_FETCH_BYTES / 8,
  });
  // A batch that ends in a transaction marker (or holds only aborted messages) hands nothing over, yet moves the
  // position on; without this a partition whose last record is a marker would never count as caught up.
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    if (payload.topic === topic.name) advance(payload.partition, Number(payload.lastOffset) + 1);
  });
  // The group commits nothing, so each join (the first, and any after kafkajs restarted the consumer) would start
  // from the beginning: seek every partition to where this follower is. The event comes before the first fetch.
  consumer.on(consumer.events.GROUP_JOIN, () => {
    for (const [partition, offset] of positions)
      consumer.seek({ topic: topic.name, partition, offset: String(offset) });
  });
  await untilKafkaAnswers(`following ${topic.name}`, () => consumer.connect(), { log });
  await untilKafkaAnswers(
    `subscribing to ${topic.name}`,
    () => consumer.subscribe({ topic: topic.name, fromBeginning: true }),
    { log },
  );

  let historyRead = 0;
  const handle = (partition: number, message: KafkaMessage, history: boolean) => {
    if (history) historyRead++;
    const meta = new Followed(partition, message, history);
    try {
      onMessage(topic.decode(message.value), meta);
    } catch (error) {
      if (onInvalid) onInvalid(error as Error, meta);
      else
        log?.warn(
          { err: error, topic: topic.name, partition, offset: message.offset },
          'skipped a message that could not be read',
        );
    }
  };

  const handOver = (partition: number, message: KafkaMessage) => {
    const offset = Number(message.offset);
    // Seeks apply from the next fetch on; this guards against a fetch that started before them.
    if (offset < (positions.get(partition) ?? 0)) return;
    let extracted: Context | undefined;
    const parentOf = () => (extracted ??= producerContextOf(message));
    // A message whose producer was not traced has no trace for a span to join: a span of its own would be a lone root.
    if (historyEnd.has(partition) || !traced || !trace.getSpanContext(parentOf())) {
      handle(partition, message, historyEnd.has(partition));
      advance(partition, offset + 1);
      return;
    }
    const parent = parentOf();
    const span = startConsumerSpan(tracer, { topic: topic.name, partition, message, groupId }, parent);
    try {
      context.with(trace.setSpan(parent, span), () => handle(partition, message, false));
    } finally {
      span.end();
      advance(partition, offset + 1);
    }
  };

  // A batch at a time, in one synchronous loop: kafkajs's eachMessage awaits, resolves an offset and checks the
  // heartbeat for every message, which made up most of what reading a long history allocated (BENCHMARKS.md).
  const eachBatch = async ({ batch, isStale }: EachBatchPayload) => {
    // Only a seek makes a batch stale, and none can come while the loop runs: one look before it is enough.
    if (isStale()) return;
    for (const message of batch.messages) handOver(batch.partition, message);
  };

  await consumer.run({ autoCommit: false, eachBatch });

  // One admin client for catchUp(), connected on first use: a view that is asked often must not connect each time.
  let admin: Admin | undefined;
  /** Waits until every partition of `ends` has been read up to its offset; rejects after `timeoutMs`. */
  const waitFor = async (ends: Array<{ partition: number; end: number }>, timeoutMs: number) => {
    if (reached(ends)) return;
    if (stopping) throw stopped();
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve, reject) => {
      const waiter = { ends, resolve, reject };
      waiters.push(waiter);
      timer = setTimeout(() => {
        waiters = waiters.filter((w) => w !== waiter);
        const behind = ends.filter((p) => (positions.get(p.partition) ?? 0) < p.end).map((p) => p.partition);
        reject(new Error(`${topic.name}: still behind in partitions ${behind.join(', ')} after ${timeoutMs} ms`));
      }, timeoutMs);
    }).finally(() => clearTimeout(timer));
  };
  const catchUp = async (timeoutMs = 30_000) => {
    if (stopping) throw stopped();
    if (!admin) {
      admin = kafka.admin();
      await admin.connect().catch((error) => {
        admin = undefined;
        throw error;
      });
    }
    const ends = (await admin.fetchTopicOffsets(topic.name)).map((p) => ({
      partition: p.partition,
      end: Number(p.high),
    }));
    await waitFor(ends, timeoutMs);
  };

  return {
    caughtUp,
    catchUp,
    catchUpTo: (partition, offset, timeoutMs = 30_000) => waitFor([{ partition, end: offset + 1 }], timeoutMs),
    startOffsets: starts,
    get historyRead() {
      return historyRead;
    },
    async stop() {
      stopping = true;
      for (const waiter of waiters.splice(0)) waiter.reject(stopped());
      await consumer.disconnect();
      await admin?.disconnect();
      await deleteGroup(kafka, groupId, log);
    },
  };
}

/**
 * Deletes a follower's group. It committed nothing, but the broker keeps an empty group's name until its offsets
 * retention check runs; a process that starts and stops often would leave a trail of them.
 */
async function deleteGroup(kafka: Kafka, groupId: string, log?: Logger): Promise<void> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.deleteGroups([groupId]);
  } catch (error) {
    // Failing here only leaves a name behind, which the broker drops at its next offsets retention check.
    log?.debug({ err: error, groupId }, 'could not delete the follower group');
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/** Per partition, the offset of the first message at or after `time` (the end when there is none). */
async function offsetsAt(kafka: Kafka, topicName: string, time: Date): Promise<Map<number, number>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsetsByTimestamp(topicName, time.getTime());
    return new Map(offsets.map((p) => [p.partition, Number(p.offset)]));
  } finally {
    await admin.disconnect();
  }
}

/** Every message of a topic from the beginning up to its end as it is now, oldest first within each partition (no spans). */
export async function readTopic(kafka: Kafka, topicName: string): Promise<Array<KafkaMessage & { partition: number }>> {
  const messages: Array<KafkaMessage & { partition: number }> = [];
  const follower = await followTopic(
    kafka,
    { name: topicName, decode: (bytes) => bytes },
    {
      onMessage: (_bytes, { partition, message, history }) =>
        // A record's key, value and headers are getters here (common/kafka/record-decoding.ts): a spread leaves them out.
        void (
          history &&
          messages.push({
            ...message,
            key: message.key,
            value: message.value,
            headers: message.headers,
            partition,
          } as (typeof messages)[number])
        ),
    },
  );
  await follower.caughtUp;
  await follower.stop();
  return messages;
}
