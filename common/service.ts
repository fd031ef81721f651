import { setTimeout as sleep } from 'node:timers/promises';
import closeWithGrace from 'close-with-grace';
import type { Kafka } from 'kafkajs';
import type { TSchema } from 'typebox';
import { text } from './config.ts';
import { createKafka, ensureTopics, kafkaBrokers } from './kafka.ts';
import { createLogger, logLevel } from './logger.ts';
import type { Logger } from './logger.ts';
import { followControl } from './control.ts';
import { ALL_TOPICS } from './topics/index.ts';
import type { ControlChange } from './topics/index.ts';
import { runWorker } from './worker.ts';
import { kafkaSendMode } from './batching-publisher.ts';
import type { KafkaSendMode } from './batching-publisher.ts';
import type { WorkerDefinition } from './worker.ts';
import { stopTelemetry } from './telemetry.ts';

/** How long a process may take to finish in-flight work, commit and flush spans after SIGTERM/SIGINT. */
export const SHUTDOWN_GRACE_MS = 10_000;

/** The part of the grace period spans may take to flush; an unreachable trace backend must not hold the exit. */
const TELEMETRY_FLUSH_MS = 3_000;

/** On SIGTERM/SIGINT (or a crash): run `stop`, flush telemetry, exit — forced after SHUTDOWN_GRACE_MS. */
export function stopGracefully(log: Logger, stop: () => Promise<void>): void {
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
      if (!flushed) log.warn({ waitedMs: TELEMETRY_FLUSH_MS }, 'the trace backend did not take the last spans; exiting without them');
    }
  });
}

/** Variables every process reads. */
export const serviceConfigSchema = {
  OTEL_SERVICE_NAME: text(),
  KAFKA_BROKERS: kafkaBrokers,
  LOG_LEVEL: logLevel,
  ITUNA_KAFKA_SEND: kafkaSendMode,
};

/** Runs a worker as a process: logger, Kafka client, topics, settings changes, the consumer loop, and a graceful stop on signals. */
export async function startWorkerProcess<S extends TSchema>(
  defaultServiceName: string,
  config: { OTEL_SERVICE_NAME: string | undefined; KAFKA_BROKERS: string[]; LOG_LEVEL: string; ITUNA_KAFKA_SEND: KafkaSendMode },
  setup: (deps: { kafka: Kafka; log: Logger }) => Promise<{
    definition: WorkerDefinition<S>;
    onControl: (change: ControlChange) => void;
    stop?: () => Promise<void>;
  }>,
): Promise<void> {
  const service = config.OTEL_SERVICE_NAME ?? defaultServiceName;
  const log = createLogger(service, config.LOG_LEVEL);
  const kafka = createKafka(service, config.KAFKA_BROKERS, log);
  await ensureTopics(kafka, ALL_TOPICS);
  const { definition, onControl, stop } = await setup({ kafka, log });
  const control = await followControl(kafka, log, onControl);
  const worker = await runWorker(definition, { kafka, log, sendMode: config.ITUNA_KAFKA_SEND });
  stopGracefully(log, async () => {
    // The worker first: it finishes the messages in hand and commits; the followers only read.
    await worker.stop();
    await Promise.all([control.stop(), stop?.()]);
  });
}
