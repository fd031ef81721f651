import { SpanKind, context, propagation, trace } from '@opentelemetry/api';
import type { Attributes, Span } from '@opentelemetry/api';
import kafkajs from 'kafkajs';
import type { Message, Producer, ProducerBatch, RecordMetadata } from 'kafkajs';
import type { Static, TSchema } from 'typebox';
import { integer, oneOf } from '../config.ts';
import {
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_DESTINATION_PARTITION_ID,
  ATTR_MESSAGING_KAFKA_MESSAGE_KEY,
  ATTR_MESSAGING_KAFKA_OFFSET,
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  MESSAGING_SYSTEM_VALUE_KAFKA,
} from '../telemetry/semconv.ts';
import { recordSpanError } from '../telemetry/spans.ts';
import type { Topic } from '../topics/topic.ts';

const tracer = trace.getTracer('ituna-publisher');

/** A message ready for a topic: the value checked against the topic's contract, keyed by order. */
export interface Outgoing {
  topic: string;
  message: Message;
  /** For a topic whose messages are told as events (Topic.asEvent): what the sending span's event says. */
  event?: Attributes;
}

/** Encodes a value for its topic (throws if it breaks the contract, so a consumer never receives what it would reject). */
export function outgoing<S extends TSchema>(topic: Topic<S>, value: Static<S>): Outgoing {
  return {
    topic: topic.name,
    message: { key: topic.key(value), value: topic.encode(value), headers: { 'content-type': 'application/json' } },
    ...(topic.asEvent ? { event: topic.asEvent(value) } : {}),
  };
}

/** The broker a producer span names (`server.address`, `server.port`): the first bootstrap server. */
export interface MessagingServer {
  address: string;
  port: number;
}

/** The MessagingServer of a list of bootstrap servers (`host:port`). */
export function messagingServerOf(brokers: readonly string[]): MessagingServer | undefined {
  const first = brokers[0];
  const at = first?.lastIndexOf(':') ?? -1;
  return first && at > 0 ? { address: first.slice(0, at), port: Number(first.slice(at + 1)) } : undefined;
}

/** Where Kafka wrote a message: its partition and offset. */
export interface Delivery {
  partition: number;
  offset: number;
}

/**
 * Sends messages and resolves once Kafka has acknowledged every one of them (acks from all in-sync replicas), with
 * where each was written, in the order given.
 */
export type Publish = (messages: Outgoing[]) => Promise<Delivery[]>;

/** What a publisher sends through: a kafkajs producer, or the project's IdempotentProducer (idempotent-producer.ts). */
export type Sender = Pick<Producer, 'sendBatch'>;

/** The one produce request of the project: every message of `messages` in one batch, acknowledged by all in-sync replicas. */
function sendBatch(producer: Sender, messages: Outgoing[]): Promise<Delivery[]> {
  return sendAcknowledged((batch) => producer.sendBatch(batch), messages);
}

/**
 * The most one produce request (or one transaction) carries. A broker refuses a partition's record batch above its
 * `max.message.bytes` (1 MiB by default) and the whole request with it, and all of a request's messages may share one
 * partition: an order's messages are keyed by its id, so they land on the same partition number in every topic.
 * Half of the default keeps a request well clear of it, yet still holds hundreds of orders' messages.
 */
export const MAX_REQUEST_BYTES = 512 * 1024;

const sizeOf = (part: Buffer | string | null | undefined) =>
  part == null ? 0 : typeof part === 'string' ? Buffer.byteLength(part) : part.length;

/** About what a message takes in a record batch: key, value, headers and a record's own fields. */
function outgoingBytes({ message }: Outgoing): number {
  let bytes = 32 + sizeOf(message.key) + sizeOf(message.value);
  for (const [name, value] of Object.entries(message.headers ?? {}))
    for (const part of Array.isArray(value) ? value : [value]) bytes += name.length + sizeOf(part);
  return bytes;
}

/** Takes from the front of `items` as many as fit in MAX_REQUEST_BYTES (always at least one); the rest stay. */
export function takeFitting<T>(items: T[], messagesOf: (item: T) => Outgoing[]): T[] {
  let bytes = 0;
  let count = 0;
  for (const item of items) {
    const size = messagesOf(item).reduce((sum, m) => sum + outgoingBytes(m), 0);
    if (count > 0 && bytes + size > MAX_REQUEST_BYTES) break;
    bytes += size;
    count++;
  }
  return items.splice(0, count);
}

// kafkajs is CommonJS: its error classes come from the default export.
const { KafkaJSError } = kafkajs;

/** How many times `sendAcknowledged` sends what Kafka has not acknowledged before it gives up. */
const SEND_ATTEMPTS = 5;

/**
 * Sends `messages` with `send` (a producer's or a transaction's sendBatch) and returns once every one of them has
 * been acknowledged by all in-sync replicas. kafkajs 2.2 can resolve a batch without having sent part of it: when a
 * broker fails under the batch, kafkajs retries, and the messages of a partition whose new leader already answered
 * the first attempt are never sent (seen when a broker died under load: an order `validated` with no kitchen ticket).
 * So each message's partition (written on it by `recordingPartitioner`) must be among the acknowledged ones;
 * the others are sent again, to the same partition, as they were never written.
 */
export async function sendAcknowledged(
  send: (batch: ProducerBatch) => Promise<RecordMetadata[]>,
  messages: Outgoing[],
): Promise<Delivery[]> {
  const deliveries = new Map<Outgoing, Delivery>();
  let unacknowledged = messages;
  for (let attempt = 1; unacknowledged.length > 0; attempt++) {
    if (attempt > SEND_ATTEMPTS)
      throw new KafkaJSError(
        `Kafka acknowledged no partition for ${unacknowledged.length} message(s) after ${SEND_ATTEMPTS} sends`,
        { retriable: true },
      );
    const acknowledged = await send({ acks: -1, topicMessages: byTopic(unacknowledged) });
    // A partition's messages are written in the order sent, from the base offset Kafka answers for the partition.
    const next = new Map(acknowledged.map((r) => [`${r.topicName}/${r.partition}`, Number(r.baseOffset)]));
    unacknowledged = unacknowledged.filter((outgoing) => {
      const { topic, message } = outgoing;
      if (message.partition === undefined)
        throw new Error(
          `a message for ${topic} has no partition after its send: its producer needs recordingPartitioner`,
        );
      const key = `${topic}/${message.partition}`;
      const offset = next.get(key);
      if (offset === undefined) return true;
      next.set(key, offset + 1);
      deliveries.set(outgoing, { partition: message.partition, offset });
      return false;
    });
  }
  return messages.map((m) => deliveries.get(m)!);
}

/**
 * The messages of each topic together, in the order given. kafkajs merges a batch's entries of one topic by copying
 * that topic's messages so far for each entry: with an entry per message, a send of n messages copied n²/2.
 */
function byTopic(outgoing: Outgoing[]): Array<{ topic: string; messages: Message[] }> {
  const topics = new Map<string, Message[]>();
  for (const { topic, message } of outgoing) {
    const messages = topics.get(topic);
    if (messages) messages.push(message);
    else topics.set(topic, [message]);
  }
  return Array.from(topics, ([topic, messages]) => ({ topic, messages }));
}

/** The publisher already holds as many messages as it may: nothing of this send was queued. */
export class PublisherFullError extends Error {
  constructor(queued: number) {
    super(`the publisher already holds ${queued} messages waiting for Kafka; this send was refused`);
    this.name = 'PublisherFullError';
  }
}

/** A message's PRODUCER span, or undefined for a message told as an event. */
type SendSpan = Span | undefined;

interface Pending {
  messages: Outgoing[];
  spans: SendSpan[];
  resolve(deliveries: Delivery[]): void;
  reject(error: unknown): void;
}

/**
 * A publisher that sends everything callers handed it while the previous produce request was in flight as one
 * produce request through `send` (group commit): with an idempotent producer kafkajs allows one request in flight, so
 * one awaited send per HTTP request makes every order wait for all the ones before it. `send` answers where each
 * message was written, in the order given.
 *
 * A message that finds the publisher idle waits `lingerMs` for company before its request goes (Kafka's own
 * producer does the same, `linger.ms`): without it, at a few hundred orders a second nearly every order is a produce
 * request of its own, and the broker's cost is per request.
 *
 * Batching happens outside the callers' contexts, so each message gets its `send <topic>` PRODUCER span when it is
 * queued, in its caller's context, with the W3C headers injected from that span; the span ends once Kafka has it.
 */
export function groupCommit(
  send: (messages: Outgoing[]) => Promise<Delivery[]>,
  { maxQueued = Number.POSITIVE_INFINITY, server, lingerMs = 0 }: PublisherOptions = {},
): Publish {
  const queue: Pending[] = [];
  let queued = 0;
  let inFlight = false;
  let lingering: NodeJS.Timeout | undefined;

  const flush = async () => {
    if (inFlight || lingering || queue.length === 0) return;
    inFlight = true;
    // What does not fit in one request waits for the next, sent as soon as this one is acknowledged.
    const batch = takeFitting(queue, (p) => p.messages);
    const size = batch.reduce((n, p) => n + p.messages.length, 0);
    queued -= size;
    try {
      const deliveries = await send(batch.flatMap((p) => p.messages));
      let at = 0;
      for (const pending of batch) {
        const own = deliveries.slice(at, at + pending.messages.length);
        at += pending.messages.length;
        endDelivered(pending.spans, own, { 'ituna.batch.messages': size });
        pending.resolve(own);
      }
    } catch (error) {
      for (const pending of batch) {
        failSpans(pending.spans, error);
        pending.reject(error);
      }
    } finally {
      inFlight = false;
      void flush();
    }
  };

  return (messages) => {
    // In a brownout, a queue without bound would hold every caller's order in memory while none is acknowledged.
    if (queued + messages.length > maxQueued) return Promise.reject(new PublisherFullError(queued));
    queued += messages.length;
    return new Promise<Delivery[]>((resolve, reject) => {
      queue.push({ messages, spans: startProducerSpans(messages, server), resolve, reject });
      // The first message to an idle publisher waits for company; the others join it, or the request in flight.
      if (lingerMs > 0 && queue.length === 1 && !inFlight)
        lingering = setTimeout(() => {
          lingering = undefined;
          void flush();
        }, lingerMs);
      else void flush();
    });
  };
}

/** Ends producer spans once their messages are written, with where Kafka wrote each (messaging conventions). */
function endDelivered(spans: SendSpan[], deliveries: Delivery[], extra: Record<string, number> = {}): void {
  for (const [i, span] of spans.entries()) {
    if (!span) continue;
    const delivery = deliveries[i];
    if (delivery) {
      span.setAttributes({
        [ATTR_MESSAGING_DESTINATION_PARTITION_ID]: String(delivery.partition),
        [ATTR_MESSAGING_KAFKA_OFFSET]: delivery.offset,
        ...extra,
      });
    }
    span.end();
  }
}

/** Producer spans started for messages that are sent later, elsewhere: end them with where Kafka wrote each. */
export interface TracedSends {
  delivered(deliveries: Delivery[]): void;
  failed(error: unknown): void;
}

/**
 * Starts each message's `send <topic>` PRODUCER span now, in the caller's context (its W3C headers injected), for a
 * send made later outside it — a transaction that commits many callers' messages at once.
 */
export function startSends(messages: Outgoing[], server?: MessagingServer): TracedSends {
  const spans = startProducerSpans(messages, server);
  return {
    delivered: (deliveries) => endDelivered(spans, deliveries),
    failed: (error) => failSpans(spans, error),
  };
}

function failSpans(spans: SendSpan[], error: unknown): void {
  for (const span of spans) {
    if (!span) continue;
    recordSpanError(span, error);
    span.end();
  }
}

/**
 * A `send <topic>` PRODUCER span per message, in the caller's context, with the W3C headers injected from it; for a
 * message told as an event, a `send <topic>` event on the caller's span instead, and the caller's context injected.
 */
function startProducerSpans(messages: Outgoing[], server?: MessagingServer): SendSpan[] {
  return messages.map(({ topic, message, event }) => {
    const attributes = {
      [ATTR_MESSAGING_SYSTEM]: MESSAGING_SYSTEM_VALUE_KAFKA,
      [ATTR_MESSAGING_DESTINATION_NAME]: topic,
      [ATTR_MESSAGING_OPERATION_TYPE]: 'send',
      [ATTR_MESSAGING_OPERATION_NAME]: 'send',
      [ATTR_MESSAGING_KAFKA_MESSAGE_KEY]: String(message.key),
    };
    message.headers ??= {};
    if (event) {
      trace.getActiveSpan()?.addEvent(`send ${topic}`, { ...attributes, ...event });
      propagation.inject(context.active(), message.headers);
      return undefined;
    }
    const span = tracer.startSpan(`send ${topic}`, {
      kind: SpanKind.PRODUCER,
      attributes: {
        ...attributes,
        ...(server ? { [ATTR_SERVER_ADDRESS]: server.address, [ATTR_SERVER_PORT]: server.port } : {}),
      },
    });
    propagation.inject(trace.setSpan(context.active(), span), message.headers);
    return span;
  });
}

/**
 * ITUNA_KAFKA_SEND: `batched` (the default) sends through the group-commit publisher above; `single` makes one
 * awaited send per call (with the same producer spans) — the code most tutorials write, kept so the
 * benchmark can measure what batching gains.
 */
export const kafkaSendMode = oneOf(['batched', 'single'], 'batched');
export type KafkaSendMode = ReturnType<typeof kafkaSendMode>;

/**
 * ITUNA_KAFKA_LINGER_MS: how long a send that finds nothing in flight waits for more to share its produce request (or
 * a fenced worker's transaction). Kafka's producer defaults its `linger.ms` to 5 as well; 0 sends at once.
 */
export const DEFAULT_LINGER_MS = 5;
export const kafkaLingerMs = integer(DEFAULT_LINGER_MS, 0, 1000);

export interface PublisherOptions {
  /** A batching publisher refuses a send (PublisherFullError) when this many messages already wait. */
  maxQueued?: number;
  /** The broker the producer spans name. */
  server?: MessagingServer;
  /** How long a message that finds the publisher idle waits for company (ITUNA_KAFKA_LINGER_MS); 0 by default. */
  lingerMs?: number;
}

/** The process's way of sending: group commit, or one awaited send per call. */
export function createPublisher(producer: Sender, mode: KafkaSendMode, options: PublisherOptions = {}): Publish {
  const { server } = options;
  if (mode === 'batched') return groupCommit((messages) => sendBatch(producer, messages), options);
  return async (messages) => {
    const sends = startSends(messages, server);
    try {
      const deliveries = await sendBatch(producer, messages);
      sends.delivered(deliveries);
      return deliveries;
    } catch (error) {
      sends.failed(error);
      throw error;
    }
  };
}
