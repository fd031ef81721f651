import { parseArgs } from 'node:util';
import type { IHeaders, KafkaConfig } from 'kafkajs';
import { configOrExit, loadConfig } from '../../common/config.ts';
import {
  createKafka,
  createProducer,
  headerText,
  kafkaBrokers,
  kafkaSecurity,
  kafkaSecuritySchema,
} from '../../common/kafka/client.ts';
import { readTopic } from '../../common/kafka/follower.ts';
import { createPublisher } from '../../common/kafka/publish.ts';
import { createLogger } from '../../common/logger.ts';
import { deadLetterTopicOf } from '../../common/topics/index.ts';

/** A dead letter as an operator reads it. */
export interface DeadLetter {
  offset: string;
  key: string | undefined;
  source: { topic?: string; partition?: string; offset?: string };
  error: { code?: string; message?: string };
  failedAt?: string;
  value: Buffer | null;
  headers: IHeaders;
}

const DLQ_HEADER = /^ituna\.dlq\./;

/** Where the dead letters are and how to reach them: the brokers and their TLS/SASL options. */
export interface KafkaAccess {
  brokers: string[];
  security?: Pick<KafkaConfig, 'ssl' | 'sasl'>;
}

/** KAFKA_BROKERS and the TLS/SASL variables, read and validated as the services read them; throws a ConfigError. */
export function kafkaAccessFrom(env: Record<string, string | undefined>): KafkaAccess {
  const config = loadConfig({ KAFKA_BROKERS: kafkaBrokers, ...kafkaSecuritySchema }, env);
  return { brokers: config.KAFKA_BROKERS, security: kafkaSecurity(config) };
}

const kafkaOf = ({ brokers, security }: KafkaAccess) =>
  createKafka('ituna-dlq', brokers, createLogger('ituna-dlq', 'warn'), security);

/** Every message of `<topic>.dlq`, oldest first. */
export async function readDeadLetters(access: KafkaAccess, topic: string): Promise<DeadLetter[]> {
  return (await readTopic(kafkaOf(access), deadLetterTopicOf(topic))).map((message) => ({
    offset: message.offset,
    key: message.key?.toString(),
    source: {
      topic: headerText(message, 'ituna.dlq.source.topic'),
      partition: headerText(message, 'ituna.dlq.source.partition'),
      offset: headerText(message, 'ituna.dlq.source.offset'),
    },
    error: {
      code: headerText(message, 'ituna.dlq.error.code'),
      message: headerText(message, 'ituna.dlq.error.message'),
    },
    failedAt: headerText(message, 'ituna.dlq.failed_at'),
    value: message.value,
    headers: message.headers ?? {},
  }));
}

/** Sends the chosen dead letters back to their source topic: original bytes and headers, without the dead-letter ones. */
export async function replayDeadLetters(access: KafkaAccess, topic: string, offsets: string[]): Promise<number> {
  const letters = (await readDeadLetters(access, topic)).filter((l) => offsets.includes(l.offset));
  if (letters.length === 0) return 0;
  const producer = createProducer(kafkaOf(access));
  await producer.connect();
  await createPublisher(
    producer,
    'single',
  )(
    letters.map((l) => ({
      topic,
      message: {
        key: l.key,
        value: l.value,
        headers: Object.fromEntries(Object.entries(l.headers).filter(([name]) => !DLQ_HEADER.test(name))) as IHeaders,
      },
    })),
  );
  await producer.disconnect();
  return letters.length;
}

// `npm run dlq -- list <topic>` | `npm run dlq -- replay <topic> --offset N [--offset M …]`
if (import.meta.main) {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { offset: { type: 'string', multiple: true } },
  });
  const [command, topic] = positionals;
  const access = configOrExit(() => kafkaAccessFrom(process.env));
  if (command === 'list' && topic) {
    const letters = await readDeadLetters(access, topic);
    for (const l of letters) {
      console.log(
        `${l.offset}\tkey=${l.key}\tfrom ${l.source.topic}[${l.source.partition}]@${l.source.offset}\t${l.error.code}: ${l.error.message}\t${l.failedAt}`,
      );
    }
    console.log(`${letters.length} dead letters in ${deadLetterTopicOf(topic)}`);
  } else if (command === 'replay' && topic && values.offset?.length) {
    console.log(`replayed ${await replayDeadLetters(access, topic, values.offset)} messages to ${topic}`);
  } else {
    console.error('usage: npm run dlq -- list <topic> | npm run dlq -- replay <topic> --offset N [--offset M …]');
    process.exit(2);
  }
}
