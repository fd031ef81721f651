import { randomUUID } from 'node:crypto';
import { ROOT_CONTEXT, SpanKind, context, propagation, trace } from '@opentelemetry/api';
import type { Context, TextMapGetter } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import type { Admin, EachMessagePayload, IHeaders, Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from '../logger.ts';
import { FETCH_WAIT_MS, endOffsets, untilKafkaAnswers } from './client.ts';
import { consumerSpanAttributes } from './consumer-span.ts';

const tracer = trace.getTracer('ituna-follower');

/** Where a follower starts reading: the topic's first message, only what arrives from now on, or the first message at or after a time. */
export type FollowFrom = 'beginning' | 'end' | Date;

/** A read-only view of a topic that keeps up with it. */
export interface Follower {
  /** Resolves once every message that was in the topic when the follower started has been handed over. */
  caughtUp: Promise<void>;
  /**
   * Resolves once every message the topic held when called has been handed over (read-your-writes for a view);
   * rejects when Kafka cannot say where the topic ends, or after `timeoutMs`.
   */
  catchUp(timeoutMs?: number): Promise<void>;
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

/** What a follower needs of a topic: its name and how to read a message's bytes (a topic contract has both). */
export interface ReadableTopic<T> {
  name: string;
  decode(bytes: Buffer | null): T;
}

const headerGetter: TextMapGetter<IHeaders> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const value = carrier[key];
    return Array.isArray(value) ? value.map(String) : value?.toString();
  },
};

/**
 * Follows a topic for a read-only view (the gateway's order history, the kitchen's record of what it cooked, the
 * live settings): no producer, no dead-lettering, no committed offsets — a group of its own that is never resumed.
 *
 * Catching up creates no spans: a message older than the follower belongs to a trace that may have finished long
 * ago, and reading it again is not part of that order's story. Only messages that arrive once the follower is live
 * get a `process <topic>` CONSUMER span, in the trace of the message's producer. (The consumer loop runs with
 * tracing suppressed so that the kafkajs instrumentation adds nothing; the spans here are the follower's own.)
 *
 * `onMessage` gets decoded values; a message that breaks the topic's contract goes to `onInvalid` (a view skips
 * it; dead-lettering is the consuming worker's job).
 */
export async function followTopic<T>(
  kafka: Kafka,
  topic: ReadableTopic<T>,
  {
    from = 'beginning',
    log,
    onMessage,
    onInvalid,
  }: {
    from?: FollowFrom;
    /** Where an unreadable message is reported when there is no `onInvalid`. */
    log?: Logger;
    onMessage(value: T, meta: FollowedMessage): void;
    onInvalid?(error: Error, meta: FollowedMessage): void;
  },
): Promise<Follower> {
  const groupId = `ituna-follower-${topic.name}-${randomUUID()}`;
  const ends = await untilKafkaAnswers(`reading where ${topic.name} ends`, () => endOffsets(kafka, topic.name), { log });
  // Where each partition starts (absent: its first message), and the offset before which a message is history.
  const starts =
    from === 'end'
      ? new Map(ends.map((p) => [p.partition, p.end]))
      : from instanceof Date
        ? await untilKafkaAnswers(`finding offsets in ${topic.name}`, () => offsetsAt(kafka, topic.name, from), { log })
        : new Map<number, number>();
  const historyEnd = new Map(ends.filter((p) => p.end > (starts.get(p.partition) ?? 0)).map((p) => [p.partition, p.end]));

  let markCaughtUp: () => void = () => {};
  const caughtUp = new Promise<void>((resolve) => (markCaughtUp = resolve));
  if (historyEnd.size === 0) markCaughtUp();

  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: FETCH_WAIT_MS });
  await untilKafkaAnswers(`following ${topic.name}`, () => consumer.connect(), { log });
  await untilKafkaAnswers(`subscribing to ${topic.name}`, () => consumer.subscribe({ topic: topic.name, fromBeginning: true }), { log });

  const handle = ({ partition, message }: EachMessagePayload, parent: Context, history: boolean) => {
    const meta = { partition, message, traceId: trace.getSpanContext(parent)?.traceId, history };
    try {
      onMessage(topic.decode(message.value), meta);
    } catch (error) {
      if (onInvalid) onInvalid(error as Error, meta);
      else log?.warn({ err: error, topic: topic.name, partition, offset: message.offset }, 'skipped a message that could not be read');
    }
  };

  // The offset after the last message handed over, per partition, and the callers of catchUp() waiting for some.
  const position = new Map<number, number>();
  let waiters: Array<{ ends: Array<{ partition: number; end: number }>; resolve(): void }> = [];
  const reached = (ends: Array<{ partition: number; end: number }>) => ends.every((p) => (position.get(p.partition) ?? 0) >= p.end);
  const advance = (partition: number, offset: string) => {
    position.set(partition, Number(offset) + 1);
    if (waiters.length === 0) return;
    const done = waiters.filter((w) => reached(w.ends));
    waiters = waiters.filter((w) => !done.includes(w));
    done.forEach((w) => w.resolve());
  };

  const eachMessage = async (payload: EachMessagePayload) => {
    const { partition, message } = payload;
    try {
      await follow(payload);
    } finally {
      advance(partition, message.offset);
    }
  };

  const follow = async (payload: EachMessagePayload) => {
    const { partition, message } = payload;
    // Seeks apply from the first fetch on; this guards against a fetch that started before them.
    if (Number(message.offset) < (starts.get(partition) ?? 0)) return;
    const parent = propagation.extract(ROOT_CONTEXT, message.headers ?? {}, headerGetter);
    const end = historyEnd.get(partition);
    if (end !== undefined) {
      handle(payload, parent, true);
      if (Number(message.offset) + 1 >= end) {
        historyEnd.delete(partition);
        if (historyEnd.size === 0) markCaughtUp();
      }
      return;
    }
    const span = tracer.startSpan(
      `process ${topic.name}`,
      {
        kind: SpanKind.CONSUMER,
        // The attributes the kafkajs instrumentation gives the consuming workers' spans, so both kinds read alike.
        attributes: {
          'messaging.system': 'kafka',
          'messaging.destination.name': topic.name,
          'messaging.operation.type': 'process',
          'messaging.operation.name': 'process',
          ...(message.key ? { 'messaging.kafka.message.key': message.key.toString() } : {}),
          'messaging.kafka.offset': message.offset,
          ...consumerSpanAttributes(payload, groupId),
        },
      },
      parent,
    );
    try {
      context.with(trace.setSpan(parent, span), () => handle(payload, parent, false));
    } finally {
      span.end();
    }
  };

  await context.with(suppressTracing(context.active()), async () => {
    await consumer.run({ autoCommit: false, eachMessage });
    for (const [partition, offset] of starts) consumer.seek({ topic: topic.name, partition, offset: String(offset) });
  });
  // One admin client for catchUp(), connected on first use: a view that is asked often must not connect each time.
  let admin: Admin | undefined;
  const catchUp = async (timeoutMs = 5000) => {
    if (!admin) {
      admin = kafka.admin();
      await admin.connect().catch((error) => {
        admin = undefined;
        throw error;
      });
    }
    const offsets = await admin.fetchTopicOffsets(topic.name);
    // Only partitions with messages at or after where the follower started have anything to hand over.
    const ends = offsets
      .filter((p) => Number(p.high) > Math.max(Number(p.low), starts.get(p.partition) ?? 0))
      .map((p) => ({ partition: p.partition, end: Number(p.high) }));
    if (reached(ends)) return;
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve, reject) => {
      const waiter = { ends, resolve };
      waiters.push(waiter);
      timer = setTimeout(() => {
        waiters = waiters.filter((w) => w !== waiter);
        reject(new Error(`${topic.name} not caught up within ${timeoutMs} ms`));
      }, timeoutMs);
    }).finally(() => clearTimeout(timer));
  };

  return {
    caughtUp,
    catchUp,
    async stop() {
      await consumer.disconnect();
      await admin?.disconnect();
    },
  };
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
  const follower = await followTopic(kafka, { name: topicName, decode: (bytes) => bytes }, {
    onMessage: (_bytes, { partition, message, history }) => void (history && messages.push({ ...message, partition })),
  });
  await follower.caughtUp;
  await follower.stop();
  return messages;
}
