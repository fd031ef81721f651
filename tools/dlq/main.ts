import { parseArgs } from 'node:util';
import type { IHeaders } from 'kafkajs';
import { configOrExit, loadConfig } from '../../common/config.ts';
import { createKafka, createProducer, headerText, kafkaBrokers } from '../../common/kafka/client.ts';
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

/** Every message of `<topic>.dlq`, oldest first. */
export async function readDeadLetters(brokers: string[], topic: string): Promise<DeadLetter[]> {
  const log = createLogger('ituna-dlq', 'warn');
  const kafka = createKafka('ituna-dlq', brokers, log);
  return (await readTopic(kafka, deadLetterTopicOf(topic))).map((message) => ({
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
export async function replayDeadLetters(brokers: string[], topic: string, offsets: string[]): Promise<number> {
  const letters = (await readDeadLetters(brokers, topic)).filter((l) => offsets.includes(l.offset));
  if (letters.length === 0) return 0;
  const kafka = createKafka('ituna-dlq', brokers, createLogger('ituna-dlq', 'warn'));
  const producer = createProducer(kafka);
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
  const { KAFKA_BROKERS } = configOrExit(() => loadConfig({ KAFKA_BROKERS: kafkaBrokers }, process.env));
  if (command === 'list' && topic) {
    const letters = await readDeadLetters(KAFKA_BROKERS, topic);
    for (const l of letters) {
      console.log(
        `${l.offset}\tkey=${l.key}\tfrom ${l.source.topic}[${l.source.partition}]@${l.source.offset}\t${l.error.code}: ${l.error.message}\t${l.failedAt}`,
      );
    }
    console.log(`${letters.length} dead letters in ${deadLetterTopicOf(topic)}`);
  } else if (command === 'replay' && topic && values.offset?.length) {
    console.log(`replayed ${await replayDeadLetters(KAFKA_BROKERS, topic, values.offset)} messages to ${topic}`);
  } else {
    console.error('usage: npm run dlq -- list <topic> | npm run dlq -- replay <topic> --offset N [--offset M …]');
    process.exit(2);
  }
}
