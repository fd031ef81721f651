import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect as connectTls } from 'node:tls';
import { readFileSync } from 'node:fs';
import { Kafka, logLevel as KafkaLogLevel } from 'kafkajs';
import type { ISocketFactory, KafkaConfig, KafkaMessage, Producer, SASLOptions } from 'kafkajs';
import { ConfigError, flag, hostPortList, oneOf, text } from '../config.ts';
import type { Logger } from '../logger.ts';
import { recordingPartitioner } from './partitioner.ts';
// Loaded with the client: stops kafkajs's idle connections waking the process every millisecond, hides the records
// of every aborted transaction from readers of committed messages, encodes the records it sends with less work, and
// keeps the coordinators a transactional producer found.
import './idle-timer.ts';
import './aborted-transactions.ts';
import './record-encoding.ts';
import './coordinator-cache.ts';

/** KAFKA_BROKERS: bootstrap servers; unset means the local broker that `npm start` runs. */
export const kafkaBrokers = (raw: string | undefined) => hostPortList()(raw) ?? ['127.0.0.1:9092'];

// kafkajs leaves Nagle's algorithm on: a small produce request then waits for the broker's delayed ACK (~40 ms).
const socketFactory: ISocketFactory = ({ host, port, ssl, onConnect }) => {
  const socket = ssl
    ? connectTls({ host, port, servername: host, ...ssl }, onConnect)
    : connect({ host, port }, onConnect);
  socket.setNoDelay(true);
  socket.setKeepAlive(true, 60_000);
  return socket;
};

/**
 * How to reach a cluster that needs TLS or SASL: the variables every process reads besides KAFKA_BROKERS.
 * KAFKA_SASL_MECHANISM `none` (the default) sends no credentials; the others need KAFKA_SASL_USERNAME and
 * KAFKA_SASL_PASSWORD. KAFKA_SSL_CA_FILE trusts a private CA (a PEM file) besides the system's.
 */
export const kafkaSecuritySchema = {
  KAFKA_SSL: flag(false),
  KAFKA_SSL_CA_FILE: text(),
  KAFKA_SASL_MECHANISM: oneOf(['none', 'plain', 'scram-sha-256', 'scram-sha-512'], 'none'),
  KAFKA_SASL_USERNAME: text(),
  KAFKA_SASL_PASSWORD: text(),
};

/** The values of `kafkaSecuritySchema`, as loadConfig returns them. */
export interface KafkaSecurityConfig {
  KAFKA_SSL: boolean;
  KAFKA_SSL_CA_FILE: string | undefined;
  KAFKA_SASL_MECHANISM: 'none' | 'plain' | 'scram-sha-256' | 'scram-sha-512';
  KAFKA_SASL_USERNAME: string | undefined;
  KAFKA_SASL_PASSWORD: string | undefined;
}

/** kafkajs's `ssl` and `sasl` options from the security variables; throws a ConfigError naming what is missing or unreadable. */
export function kafkaSecurity(config: KafkaSecurityConfig): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  const problems: string[] = [];
  let ca: string | undefined;
  if (config.KAFKA_SSL_CA_FILE) {
    if (!config.KAFKA_SSL) problems.push('KAFKA_SSL_CA_FILE is set but KAFKA_SSL is not true');
    try {
      ca = readFileSync(config.KAFKA_SSL_CA_FILE, 'utf8');
    } catch (error) {
      problems.push(
        `KAFKA_SSL_CA_FILE cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      );
    }
  }
  const mechanism = config.KAFKA_SASL_MECHANISM;
  if (mechanism !== 'none') {
    for (const name of ['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD'] as const) {
      if (!config[name]) problems.push(`${name} is required with KAFKA_SASL_MECHANISM=${mechanism}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    ...(config.KAFKA_SSL ? { ssl: ca ? { ca: [ca] } : true } : {}),
    ...(mechanism === 'none'
      ? {}
      : {
          sasl: {
            mechanism,
            username: config.KAFKA_SASL_USERNAME!,
            password: config.KAFKA_SASL_PASSWORD!,
          } as SASLOptions,
        }),
  };
}

/**
 * A kafkajs client whose own log lines go through the service's pino logger, at debug: kafkajs reports every
 * failed request while it retries (a coordinator still loading at start, a broker restarting), which is noise. What
 * matters is said once by the callers: an outage that outlasts start-up (`untilKafkaAnswers`), a consumer that
 * crashed for good, a publish that failed. `security` comes from `kafkaSecurity`; `patience` shortens the retries
 * and timeouts for a tool that must answer within seconds whether Kafka is there or not.
 */
export function createKafka(
  clientId: string,
  brokers: string[],
  log: Logger,
  security: Pick<KafkaConfig, 'ssl' | 'sasl'> = {},
  patience: Pick<KafkaConfig, 'retry' | 'connectionTimeout' | 'requestTimeout'> = {},
): Kafka {
  const kafkaLog = log.child({ component: 'kafkajs' });
  return new Kafka({
    ...security,
    clientId,
    brokers,
    logLevel: KafkaLogLevel.WARN,
    logCreator:
      () =>
      ({ label, log: entry }) => {
        const { message, ...fields } = entry;
        kafkaLog.debug({ ...fields, kafkajsLevel: label }, message);
      },
    // Backoff doubles from 100 ms but never waits more than a second: a produce request in flight when a broker
    // dies is retried until the partition's new leader answers, and with kafkajs's 30 s cap a retry could land many
    // seconds after the new leader was elected — while the publisher holds every later order behind that request.
    // Twelve retries span about nine seconds, the time a cluster with Kafka's defaults takes to fence a dead broker.
    retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 12 },
    socketFactory,
    ...patience,
  });
}

/**
 * How long a consumer's fetch waits for data on an idle partition. kafkajs waits 5 s, and `disconnect()` waits
 * for the fetch in flight, so a process with several idle consumers would need seconds to stop.
 */
export const FETCH_WAIT_MS = 1000;

/**
 * The fetch of a worker's followers (its handled orders, its settings). An idle fetch wakes the process, and a worker
 * is idle most of the day: theirs wait twice as long (a message still comes back at once). A worker stops them beside
 * its consumer, so the longer wait does not lengthen its stop.
 */
export const FOLLOWER_IDLE_FETCH = { minBytes: 1, maxWaitMs: 2 * FETCH_WAIT_MS };

/**
 * How many copies of each partition a cluster of `brokers` brokers keeps, and how many must have a message before
 * it is acknowledged (producers send with acks=all): three and two from three brokers on, so any one broker may
 * fail without losing an acknowledged message or refusing writes; one and one on a single broker.
 */
export function replicationFor(brokers: number): { replicationFactor: number; minInSyncReplicas: number } {
  return brokers >= 3
    ? { replicationFactor: 3, minInSyncReplicas: 2 }
    : { replicationFactor: Math.max(1, brokers), minInSyncReplicas: 1 };
}

/**
 * Creates the topics that are missing, with their partition counts and `replicationFor` the cluster (existing ones
 * are left as they are), and returns once every partition has a leader — also when another process created the
 * topics a moment ago.
 */
export async function ensureTopics(
  kafka: Kafka,
  topics: ReadonlyArray<{ name: string; partitions: number }>,
  timeoutMs = 30_000,
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.name));
    if (missing.length > 0) {
      const { replicationFactor, minInSyncReplicas } = replicationFor((await admin.describeCluster()).brokers.length);
      // kafkajs's own wait for leaders gives up on UNKNOWN_TOPIC_OR_PARTITION, which a broker may still answer for a
      // moment after creating the topic; the loop below waits for the leaders instead.
      await admin.createTopics({
        waitForLeaders: false,
        topics: missing.map((t) => ({
          topic: t.name,
          numPartitions: t.partitions,
          replicationFactor,
          configEntries: [{ name: 'min.insync.replicas', value: String(minInSyncReplicas) }],
        })),
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

/**
 * An idempotent producer: every send waits for all in-sync replicas, and broker retries never duplicate a message.
 * kafkajs gives it the client's retries (`createKafka`: about nine seconds), not its unlimited default for idempotent
 * producers, so a send can fail with its outcome unknown; a long-lived publisher sends through
 * `createIdempotentProducer` (idempotent-producer.ts), which starts again with a new producer id then.
 */
export function createProducer(kafka: Kafka): Producer {
  return kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: recordingPartitioner,
  });
}

/** A header's value as text (kafkajs hands headers over as Buffers). */
export function headerText(message: Pick<KafkaMessage, 'headers'>, name: string): string | undefined {
  const value = message.headers?.[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? undefined : first.toString();
}

/**
 * Each partition of `topic` with its first offset and the offset just past its last message. A topic created a moment
 * ago may answer NOT_LEADER for a short while even when metadata already names a leader: the caller retries that
 * as any other Kafka failure (`untilKafkaAnswers`).
 */
export async function partitionOffsets(
  kafka: Kafka,
  topic: string,
): Promise<Array<{ partition: number; low: number; end: number }>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).map((p) => ({
      partition: p.partition,
      low: Number(p.low),
      end: Number(p.high),
    }));
  } finally {
    await admin.disconnect();
  }
}

/**
 * Whether an error is Kafka itself failing (a broker away, a request not acknowledged, a leader moving) rather
 * than something wrong with a message: such errors are retried or handed back to kafkajs, never dead-lettered.
 */
export function isKafkaFailure(error: unknown): boolean {
  return error instanceof Error && error.name.startsWith('KafkaJS');
}

/**
 * Runs `attempt` until it succeeds, retrying Kafka failures (a broker away or restarting, a coordinator still
 * loading) with backoff from 0.2 to 5 s. Failures in the first `graceMs` are what a start-up looks like and are
 * logged at debug; a longer outage gets one warning, and its end one info line. Other errors, and Kafka failures
 * after `limitMs`, are thrown.
 */
export async function untilKafkaAnswers<T>(
  what: string,
  attempt: () => Promise<T>,
  { log, graceMs = 5000, limitMs = 10 * 60_000 }: { log?: Logger; graceMs?: number; limitMs?: number } = {},
): Promise<T> {
  const started = Date.now();
  let delayMs = 200;
  let warned = false;
  for (;;) {
    try {
      const result = await attempt();
      if (warned) log?.info({ what, waitedMs: Date.now() - started }, `Kafka answers again: ${what}`);
      return result;
    } catch (error) {
      if (!isKafkaFailure(error) || Date.now() - started > limitMs) throw error;
      if (!warned && Date.now() - started >= graceMs) {
        warned = true;
        log?.warn({ err: error, what }, `Kafka does not answer: ${what}; retrying until it does`);
      } else {
        log?.debug({ err: error, what, retryInMs: delayMs }, `Kafka not ready yet: ${what}`);
      }
      await sleep(delayMs);
      delayMs = Math.min(delayMs * 2, 5000);
    }
  }
}
