import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect as connectTls } from 'node:tls';
import { Kafka, Partitioners, logLevel as KafkaLogLevel } from 'kafkajs';
import type { ISocketFactory, KafkaMessage, Message, Producer } from 'kafkajs';
import type { Static, TSchema } from 'typebox';
import { hostPortList } from './config.ts';
import type { Logger } from './logger.ts';
import type { Topic } from './topics/index.ts';

/** KAFKA_BROKERS: bootstrap servers; unset means the local broker that `npm start` runs. */
export const kafkaBrokers = (raw: string | undefined) => hostPortList()(raw) ?? ['127.0.0.1:9092'];

// kafkajs leaves Nagle's algorithm on: a small produce request then waits for the broker's delayed ACK (~40 ms).
const socketFactory: ISocketFactory = ({ host, port, ssl, onConnect }) => {
  const socket = ssl ? connectTls({ host, port, servername: host, ...ssl }, onConnect) : connect({ host, port }, onConnect);
  socket.setNoDelay(true);
  socket.setKeepAlive(true, 60_000);
  return socket;
};

/** A kafkajs client whose own log lines go through the service's pino logger. */
export function createKafka(clientId: string, brokers: string[], log: Logger): Kafka {
  const kafkaLog = log.child({ component: 'kafkajs' });
  return new Kafka({
    clientId,
    brokers,
    logLevel: KafkaLogLevel.WARN,
    logCreator: () => ({ level, log: entry }) => {
      const { message, ...fields } = entry;
      if (level <= KafkaLogLevel.ERROR) kafkaLog.error(fields, message);
      else if (level === KafkaLogLevel.WARN) kafkaLog.warn(fields, message);
      else kafkaLog.debug(fields, message);
    },
    retry: { initialRetryTime: 100, retries: 8 },
    socketFactory,
  });
}

/**
 * How long a consumer's fetch waits for data on an idle partition. kafkajs waits 5 s, and `disconnect()` waits
 * for the fetch in flight, so a process with several idle consumers would need seconds to stop.
 */
export const FETCH_WAIT_MS = 1000;

/**
 * Creates the topics that are missing, with their partition counts (existing ones are left as they are), and
 * returns once every partition has a leader — also when another process created the topics a moment ago.
 */
export async function ensureTopics(kafka: Kafka, topics: ReadonlyArray<{ name: string; partitions: number }>, timeoutMs = 30_000): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.name));
    if (missing.length > 0) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((t) => ({ topic: t.name, numPartitions: t.partitions, replicationFactor: -1 })),
      });
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const metadata = await admin.fetchTopicMetadata({ topics: topics.map((t) => t.name) }).catch(() => undefined);
      const led = metadata?.topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0));
      if (led) return;
      if (Date.now() > deadline) throw new Error(`topics have no partition leaders after ${timeoutMs} ms`);
      await sleep(200);
    }
  } finally {
    await admin.disconnect();
  }
}

/** An idempotent producer: every send waits for all in-sync replicas, and broker retries never duplicate a message. */
export function createProducer(kafka: Kafka): Producer {
  return kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
}

/** A message ready for a topic: the value checked against the topic's contract, keyed by order. */
export interface Outgoing {
  topic: string;
  message: Message;
}

/** Encodes a value for its topic (throws if it breaks the contract, so a consumer never receives what it would reject). */
export function outgoing<S extends TSchema>(topic: Topic<S>, value: Static<S>): Outgoing {
  return {
    topic: topic.name,
    message: { key: topic.key(value), value: topic.encode(value), headers: { 'content-type': 'application/json' } },
  };
}

/** Sends messages in one produce request and resolves once the broker has acknowledged every one of them. */
export async function publish(producer: Producer, messages: Outgoing[]): Promise<void> {
  await producer.sendBatch({ acks: -1, topicMessages: messages.map(({ topic, message }) => ({ topic, messages: [message] })) });
}

/** A header's value as text (kafkajs hands headers over as Buffers). */
export function headerText(message: Pick<KafkaMessage, 'headers'>, name: string): string | undefined {
  const value = message.headers?.[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? undefined : first.toString();
}


/**
 * Each non-empty partition of `topic` with the offset just past its last message. A topic created a moment ago
 * may answer NOT_LEADER for a short while even when metadata already names a leader, so retriable errors are retried.
 */
export async function endOffsets(kafka: Kafka, topic: string, attempts = 50): Promise<Array<{ partition: number; end: number }>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        const offsets = await admin.fetchTopicOffsets(topic);
        return offsets.filter((p) => Number(p.high) > Number(p.low)).map((p) => ({ partition: p.partition, end: Number(p.high) }));
      } catch (error) {
        if (!(error as { retriable?: boolean }).retriable || attempt >= attempts) throw error;
        await sleep(200);
      }
    }
  } finally {
    await admin.disconnect();
  }
}

/** Every message of `topic` from the beginning up to its end as it is now, oldest first within each partition. */
export async function readTopic(kafka: Kafka, topic: string): Promise<Array<KafkaMessage & { partition: number }>> {
  const ends = await endOffsets(kafka, topic);
  const messages: Array<KafkaMessage & { partition: number }> = [];
  if (ends.length === 0) return messages;
  const remaining = new Map(ends.map((p) => [p.partition, p.end]));
  const consumer = kafka.consumer({ groupId: `ituna-reader-${randomUUID()}`, maxWaitTimeInMs: FETCH_WAIT_MS });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ partition, message }) => {
        messages.push({ ...message, partition });
        if (Number(message.offset) + 1 >= (remaining.get(partition) ?? 0)) remaining.delete(partition);
        if (remaining.size === 0) resolve();
      },
    });
  });
  await consumer.disconnect();
  return messages;
}
