import { setTimeout as sleep } from 'node:timers/promises';
import closeWithGrace from 'close-with-grace';
import type { Kafka } from 'kafkajs';
import type { TSchema } from 'typebox';
import { configOrExit, integer, text } from '../config.ts';
import {
  createKafka,
  ensureTopics,
  kafkaBrokers,
  kafkaSecurity,
  kafkaSecuritySchema,
  untilKafkaAnswers,
} from '../kafka/client.ts';
import type { KafkaSecurityConfig } from '../kafka/client.ts';
import { kafkaLingerMs, kafkaSendMode } from '../kafka/publish.ts';
import type { KafkaSendMode } from '../kafka/publish.ts';
import { runWorker } from '../kafka/worker.ts';
import type { WorkerDefinition } from '../kafka/worker.ts';
import { serveHealth } from './health.ts';
import { createLogger, logLevel } from '../logger.ts';
import type { Logger } from '../logger.ts';
import { stopPatchingModules, stopTelemetry } from '../telemetry/sdk.ts';
import { ALL_TOPICS } from '../topics/index.ts';
import type { ControlChange } from '../topics/index.ts';
import { followSettings } from './settings.ts';

/** How long a process may take to finish in-flight work, commit and flush spans after SIGTERM/SIGINT. */
export const SHUTDOWN_GRACE_MS = 10_000;

/** The part of the grace period spans may take to flush; an unreachable trace backend must not hold the exit. */
const TELEMETRY_FLUSH_MS = 3_000;

/** On SIGTERM/SIGINT (or a crash): run `stop`, flush telemetry, exit — forced after SHUTDOWN_GRACE_MS. */
function stopGracefully(log: Logger, stop: () => Promise<void>): void {
  closeWithGrace({ delay: SHUTDOWN_GRACE_MS }, async ({ signal, err }) => {
    if (err) log.error({ err }, 'stopping after an unexpected error');
    else log.info({ signal }, 'stopping');
    try {
      await stop();
    } finally {
      const flushed = await Promise.race([
        stopTelemetry().then(
          () => true,
          () => false,
        ),
        sleep(TELEMETRY_FLUSH_MS, false),
      ]);
      if (!flushed)
        log.warn(
          { waitedMs: TELEMETRY_FLUSH_MS },
          'the trace backend did not take the last spans; exiting without them',
        );
    }
  });
}

/** Variables every process reads. */
export const serviceConfigSchema = {
  OTEL_SERVICE_NAME: text(),
  KAFKA_BROKERS: kafkaBrokers,
  ...kafkaSecuritySchema,
  LOG_LEVEL: logLevel,
  ITUNA_KAFKA_SEND: kafkaSendMode,
  ITUNA_KAFKA_LINGER_MS: kafkaLingerMs,
};

/** A service once set up: how it stops, (for the probes) whether it is ready, and where it answers, if it does. */
interface RunningService {
  isReady?(): boolean;
  stop(): Promise<void>;
  url?: string;
}

/**
 * Tells the process that started this one (npm start, the tests, the bench), over the IPC channel it opened, that the
 * service is running: unlike a log line, that does not depend on LOG_LEVEL. Started any other way (a container, a
 * terminal), there is no channel and nothing to tell; probes ask `/readyz` instead.
 */
function announceRunning(url: string | undefined): void {
  process.send?.({ ituna: 'running', url });
}

/** Variables every worker reads besides `serviceConfigSchema`: where its probes listen (ITUNA_HEALTH_PORT unset: none). */
export const workerConfigSchema = {
  ...serviceConfigSchema,
  HOST: text('127.0.0.1'),
  ITUNA_HEALTH_PORT: (raw: string | undefined) => (raw === undefined ? undefined : integer(0, 0, 65535)(raw)),
};

/** The configuration every service gets from `serviceConfigSchema`. */
export interface ServiceConfig extends KafkaSecurityConfig {
  OTEL_SERVICE_NAME: string | undefined;
  KAFKA_BROKERS: string[];
  LOG_LEVEL: string;
  ITUNA_KAFKA_SEND: KafkaSendMode;
  ITUNA_KAFKA_LINGER_MS: number;
}

/** What a service's setup gets: its logger, its Kafka client (topics already created) and its configuration. */
export interface ServiceDeps {
  kafka: Kafka;
  /** The bootstrap servers the Kafka client was given (producer spans name the first as `server.address`). */
  brokers: string[];
  log: Logger;
  sendMode: KafkaSendMode;
  /** How long a send that finds nothing in flight waits for company (ITUNA_KAFKA_LINGER_MS). */
  lingerMs: number;
}

/**
 * Runs a service as a process: logger, Kafka client, the topics, then the service's own `setup`, and a graceful
 * stop on signals that calls what `setup` returned.
 */
export async function runService(
  defaultServiceName: string,
  config: ServiceConfig & { HOST?: string; ITUNA_HEALTH_PORT?: number },
  setup: (deps: ServiceDeps) => Promise<RunningService>,
): Promise<void> {
  const service = config.OTEL_SERVICE_NAME ?? defaultServiceName;
  // The channel to the parent, if any, must not keep the process alive once it is told to stop.
  process.channel?.unref();
  const log = createLogger(service, config.LOG_LEVEL);
  const kafka = createKafka(
    service,
    config.KAFKA_BROKERS,
    log,
    configOrExit(() => kafkaSecurity(config)),
  );
  // Signals are handled from the start: a service says it is ready inside `setup`, and may be stopped right then.
  let running: RunningService | undefined;
  // A process without an HTTP API of its own answers probes from the start: alive at once, ready once it runs.
  const probes = config.ITUNA_HEALTH_PORT;
  const health =
    probes === undefined
      ? undefined
      : await serveHealth(probes, config.HOST ?? '127.0.0.1', () => running?.isReady?.() ?? false);
  if (health) log.info({ url: health.url }, 'probes listening (/healthz, /readyz)');
  stopGracefully(log, async () => {
    await running?.stop();
    await health?.close();
  });
  await untilKafkaAnswers('creating the topics', () => ensureTopics(kafka, ALL_TOPICS), { log });
  running = await setup({
    kafka,
    brokers: config.KAFKA_BROKERS,
    log,
    sendMode: config.ITUNA_KAFKA_SEND,
    lingerMs: config.ITUNA_KAFKA_LINGER_MS,
  });
  // Running, the service has loaded every module it uses: the instrumentations have patched what they patch.
  stopPatchingModules();
  announceRunning(running.url);
}

/**
 * Runs a worker as a process (see `runService`): the worker's own followers from `setup`, the settings changes,
 * then the consumer loop.
 */
export function runWorkerService<S extends TSchema>(
  defaultServiceName: string,
  config: ServiceConfig & { HOST: string; ITUNA_HEALTH_PORT: number | undefined },
  setup: (deps: ServiceDeps) => Promise<{
    definition: WorkerDefinition<S>;
    onSettings: (change: ControlChange) => void;
    stop?: () => Promise<void>;
  }>,
): Promise<void> {
  return runService(defaultServiceName, config, async (deps) => {
    const { definition, onSettings, stop } = await setup(deps);
    const settings = await followSettings(deps.kafka, deps.log, onSettings);
    const worker = await runWorker(definition, deps);
    return {
      isReady: () => worker.isReady(),
      async stop() {
        // The followers beside the worker: each waits for its fetch in flight, and they only read. What the messages
        // still in hand need of the handled orders was read when their partition was claimed; a claim still waiting
        // fails, and its messages go to the next owner.
        await Promise.all([worker.stop(), settings.stop(), stop?.()]);
      },
    };
  });
}
