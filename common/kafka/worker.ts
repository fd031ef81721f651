import { setTimeout as sleep } from 'node:timers/promises';
import { context as otelContext, trace } from '@opentelemetry/api';
import type { Span } from '@opentelemetry/api';
import type { Consumer, EachMessagePayload, IHeaders, Kafka } from 'kafkajs';
import type { Static, TSchema } from 'typebox';
import type { Logger } from '../logger.ts';
import { recordSpanError, withBaggage } from '../telemetry/spans.ts';
import { MessageDecodeError, deadLetterTopicOf } from '../topics/topic.ts';
import type { Topic } from '../topics/topic.ts';
import { FETCH_WAIT_MS, isKafkaFailure, untilKafkaAnswers } from './client.ts';
import { createIdempotentProducer } from './idempotent-producer.ts';
import { producerContextOf, startConsumerSpan } from './consumer-span.ts';
import { ClaimFailedError, createPartitionClaims } from './partition-claims.ts';
import { createPublisher, messagingServerOf } from './publish.ts';
import type { Delivery, KafkaSendMode, Outgoing, Publish } from './publish.ts';

/** What a handler may do besides computing: log, and send messages that are acknowledged before its message counts as done. */
export interface WorkerContext {
  log: Logger;
  send: Publish;
  /** When this worker took the message from Kafka (ISO time). */
  receivedAt: string;
  /**
   * For a worker with `onPartitionClaimed` (fenced): stages messages to be sent together with this message's offset in
   * its partition's next Kafka transaction, which only the replica holding the partition's claim can commit. Called
   * at most once per message; resolves once committed. The handler may return before that: the partition's next
   * message does not wait for the commit, and a failed commit restarts the consumer, which delivers again what was
   * not committed. `after`: a send of this handler's (through `send`) that the transaction must wait for, so that
   * the handler need not: its messages come after that one, and the partition's next message does not wait for it.
   */
  commit?: (messages: Outgoing[], after?: Promise<unknown>) => Promise<Delivery[]>;
}

/** A handler failure that no retry can fix: the message goes to the dead-letter topic at once. */
export class PermanentError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'PermanentError';
    this.code = code;
  }
}

/** One worker: the topic it consumes as a consumer group, and the plain function that handles each message. */
export interface WorkerDefinition<S extends TSchema> {
  groupId: string;
  topic: Topic<S>;
  /** Messages handled at once, each from a different partition (a partition's messages stay in order). */
  concurrency: number;
  /** What the message is about, as baggage entries: set on its consumer span and carried by everything it causes. */
  baggageOf(value: Static<S>): Record<string, string>;
  /** Fields on every log line about the message (e.g. its order id). */
  logFieldsOf(value: Static<S>): Record<string, string>;
  handle(value: Static<S>, context: WorkerContext): Promise<void>;
  /** Backoff before each retry of a failing handler; the message is dead-lettered after the last. */
  retryDelaysMs?: number[];
  /**
   * Makes the worker fence its partitions (see `createPartitionClaims`): runs once this replica has claimed a
   * partition and before it handles the partition's first message; handlers then get `commit`.
   */
  onPartitionClaimed?(partition: number): Promise<void>;
  /** Runs after each join of the group with the partitions this replica was given. */
  onAssignment?(partitions: number[], log: Logger): void;
}

const tracer = trace.getTracer('ituna-worker');

/** How often a worker commits the offsets of the messages it finished, at most. */
const COMMIT_INTERVAL_MS = 1000;

/** A worker that is consuming; `stop` finishes the messages in hand, commits their offsets and disconnects. */
export interface RunningWorker {
  /** In its consumer group and not in a Kafka outage: what a readiness probe asks. */
  isReady(): boolean;
  stop(): Promise<void>;
}

/** A message that could not be handled, for `<topic>.dlq`: original key, bytes and headers, plus where it came from and why. */
function deadLetter(payload: EachMessagePayload, code: string, error: Error): Outgoing {
  const headers: IHeaders = {
    ...payload.message.headers,
    'ituna.dlq.source.topic': payload.topic,
    'ituna.dlq.source.partition': String(payload.partition),
    'ituna.dlq.source.offset': payload.message.offset,
    'ituna.dlq.error.code': code,
    'ituna.dlq.error.message': error.message.slice(0, 1000),
    'ituna.dlq.failed_at': new Date().toISOString(),
  };
  return {
    topic: deadLetterTopicOf(payload.topic),
    message: { key: payload.message.key, value: payload.message.value, headers },
  };
}

/**
 * Connects, subscribes and runs the consumer loop once for every worker: decode and validate each message,
 * hand it to `handle`, retry failures with backoff, dead-letter what cannot be handled, and carry on.
 * An offset is committed only after its message's handler — including its acknowledged sends — has finished.
 */
export async function runWorker<S extends TSchema>(
  definition: WorkerDefinition<S>,
  deps: { kafka: Kafka; log: Logger; sendMode?: KafkaSendMode; lingerMs?: number; brokers?: string[] },
): Promise<RunningWorker> {
  const { topic, groupId } = definition;
  const retryDelaysMs = definition.retryDelaysMs ?? [100, 400, 1600];
  const producer = createIdempotentProducer(deps.kafka, deps.log);
  // A member killed without leaving holds its partitions until its session expires; keep that short.
  const consumer: Consumer = deps.kafka.consumer({
    groupId,
    allowAutoTopicCreation: false,
    sessionTimeout: 10_000,
    heartbeatInterval: 1000,
    maxWaitTimeInMs: FETCH_WAIT_MS,
  });
  await untilKafkaAnswers('connecting the producer', () => producer.connect(), { log: deps.log });
  // Handlers of different partitions run at once; batched, their sends share produce requests.
  const server = messagingServerOf(deps.brokers ?? []);
  const send = createPublisher(producer, deps.sendMode ?? 'batched', { server, lingerMs: deps.lingerMs });
  const claims = definition.onPartitionClaimed
    ? createPartitionClaims(deps.kafka, {
        groupId,
        topic: topic.name,
        onClaimed: definition.onPartitionClaimed,
        log: deps.log,
        server,
        lingerMs: deps.lingerMs,
        // While the consumer restarts (it then reads from the committed offsets, before the lost work) a seek throws:
        // the messages past the lost work are then skipped in eachMessage until it is back.
        onFailed: (partition, offset) => consumer.seek({ topic: topic.name, partition, offset: String(offset) }),
      })
    : undefined;
  // After a rebalance, a partition that went elsewhere must be claimed again if it ever comes back.
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    const assigned = payload.memberAssignment[topic.name] ?? [];
    claims?.keepOnly(assigned);
    definition.onAssignment?.(assigned, deps.log);
  });
  await untilKafkaAnswers('connecting the consumer', () => consumer.connect(), { log: deps.log });
  await untilKafkaAnswers(
    `subscribing to ${topic.name}`,
    () => consumer.subscribe({ topic: topic.name, fromBeginning: true }),
    { log: deps.log },
  );

  const sendToDeadLetters = async (
    payload: EachMessagePayload,
    span: Span,
    code: string,
    error: Error,
    log: Logger,
  ) => {
    recordSpanError(span, error, code);
    log.warn(
      { err: error, code, partition: payload.partition, offset: payload.message.offset },
      'message dead-lettered',
    );
    await send([deadLetter(payload, code, error)]);
  };

  const handleMessage = async (payload: EachMessagePayload, span: Span) => {
    const receivedAt = new Date().toISOString();
    const { message } = payload;

    // After a failed transaction, the partition is read again from the first message whose work was lost: a message
    // past it is skipped (the seek makes kafkajs drop the rest of the batch), and it comes back after that one.
    const rewindTo = claims?.rewindTo(payload.partition);
    if (rewindTo !== undefined) {
      if (Number(message.offset) > rewindTo) {
        consumer.seek({ topic: topic.name, partition: payload.partition, offset: String(rewindTo) });
        return;
      }
      claims!.rewound(payload.partition);
    }
    try {
      await claims?.claim(payload.partition);
    } catch (error) {
      // kafkajs restarts the consumer, which reads the message again: say why, as when a claim fails while handling.
      deps.log.warn(
        { err: error, partition: payload.partition, offset: message.offset },
        `could not claim ${topic.name}/${payload.partition}; the message will be read again`,
      );
      throw error;
    }
    const consumedAlone = () => claims?.stage(payload.partition, message.offset, []).catch(() => {});

    let value: Static<S>;
    try {
      value = topic.decode(message.value);
    } catch (error) {
      if (!(error instanceof MessageDecodeError)) throw error;
      await sendToDeadLetters(
        payload,
        span,
        error.code,
        new Error(`${error.message}${error.details.length ? `: ${error.details.join('; ')}` : ''}`),
        deps.log,
      );
      return void consumedAlone();
    }

    const baggage = definition.baggageOf(value);
    span.setAttributes(baggage);
    const log = deps.log.child(definition.logFieldsOf(value));
    // Fenced, every message's offset is committed in a transaction: with the handler's messages, or alone.
    let staged: Promise<unknown> | undefined;
    const commit: WorkerContext['commit'] =
      claims &&
      ((messages, after) => {
        if (staged) return Promise.reject(new Error('commit() is called once per message'));
        const committed = claims.stage(payload.partition, message.offset, messages, after);
        staged = committed.catch(() => {});
        return committed;
      });
    const context: WorkerContext = { log, send, receivedAt, ...(commit ? { commit } : {}) };
    const done = () => {
      staged ??= consumedAlone();
    };

    for (let attempt = 0; ; attempt++) {
      try {
        await withBaggage(baggage, () => definition.handle(value, context));
        return done();
      } catch (error) {
        const err = error instanceof Error ? error : new Error(String(error));
        // Kafka itself failing (a send not acknowledged, a broker away) is not this message's fault: give it back
        // to kafkajs, which restarts the consumer with backoff and delivers the message again once Kafka is back.
        // A lost claim is not an outage: another replica owns the partition now, and the operator should hear of it.
        if (err instanceof ClaimFailedError)
          log.warn({ err, partition: payload.partition, offset: message.offset }, err.message);
        if (isKafkaFailure(err) || err instanceof ClaimFailedError) throw err;
        const retryIn = retryDelaysMs[attempt];
        if (err instanceof PermanentError || retryIn === undefined) {
          await sendToDeadLetters(payload, span, err instanceof PermanentError ? err.code : 'handler_failed', err, log);
          return done();
        }
        log.warn({ err, attempt: attempt + 1, retryInMs: retryIn }, 'handler failed; retrying');
        span.addEvent('retry', { 'ituna.retry.attempt': attempt + 1, 'error.message': err.message });
        await sleep(retryIn);
      }
    }
  };

  // Each message is handled inside its `process <topic>` span, which continues the trace of the message's producer.
  // A failure that kafkajs gets back (Kafka away, a lost claim) ends the span as an error; the message comes again.
  const eachMessage = (payload: EachMessagePayload) => {
    const parent = producerContextOf(payload.message);
    const span = startConsumerSpan(tracer, { ...payload, groupId }, parent);
    return otelContext
      .with(trace.setSpan(parent, span), () => handleMessage(payload, span))
      .then(
        () => span.end(),
        (error: unknown) => {
          recordSpanError(span, error);
          span.end();
          throw error;
        },
      );
  };

  // kafkajs restarts a consumer after retriable failures by itself; after any other, a worker that stays up
  // would consume nothing while looking alive, so it exits and lets its supervisor start it again.
  // Until the first join, a crash is start-up (the group coordinator still loading); after it, one line per outage.
  let joined = false;
  let outage = false;
  consumer.on(consumer.events.GROUP_JOIN, () => {
    if (outage) deps.log.info({ groupId }, 'consumer back in its group after a Kafka outage');
    joined = true;
    outage = false;
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (payload.restart) {
      if (joined && !outage)
        deps.log.warn(
          { err: payload.error, groupId },
          'Kafka failed under the consumer; it rejoins its group when Kafka is back',
        );
      else deps.log.debug({ err: payload.error, groupId }, 'consumer restarting');
      outage ||= joined;
      return;
    }
    deps.log.fatal({ err: payload.error, groupId }, 'consumer stopped for good; exiting');
    process.exit(1);
  });
  // kafkajs commits at the end of each fetched batch, which under a backlog holds minutes of work: the group's lag
  // (what an operator scaling the worker reads) would stand still meanwhile, and a crash would redo all of it.
  await consumer.run({
    partitionsConsumedConcurrently: definition.concurrency,
    // Fenced, offsets are committed in the partitions' transactions only.
    ...(claims ? { autoCommit: false } : { autoCommitInterval: COMMIT_INTERVAL_MS }),
    eachMessage,
  });
  deps.log.info({ topic: topic.name, groupId, concurrency: definition.concurrency }, 'worker consuming');

  return {
    isReady: () => joined && !outage,
    async stop() {
      await consumer.disconnect();
      await Promise.all([producer.disconnect(), claims?.stop()]);
    },
  };
}
