import { randomUUID } from 'node:crypto';
import { trace } from '@opentelemetry/api';
import { configOrExit, httpUrl, integer, loadConfig, text } from '../common/config.ts';
import { createPublisher } from '../common/batching-publisher.ts';
import { createKafka, createProducer, ensureTopics } from '../common/kafka.ts';
import { createLogger } from '../common/logger.ts';
import { serviceConfigSchema, stopGracefully } from '../common/service.ts';
import { ALL_TOPICS, ordersStatus } from '../common/topics/index.ts';
import { runWorker } from '../common/worker.ts';
import { buildApp } from './app.ts';
import { watchBrokers } from './kafka-health.ts';
import { createOrderHistory } from './order-history.ts';

// A caller waits at most this long for Kafka's acknowledgement before hearing 503.
const PUBLISH_DEADLINE_MS = 1000;

/** `work`, or a rejection once `ms` have passed (the work itself cannot be cancelled and may still finish). */
async function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no acknowledgement from Kafka within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

const config = configOrExit(() =>
  loadConfig(
    {
      ...serviceConfigSchema,
      PORT: integer(3000, 0, 65535),
      HOST: text('127.0.0.1'),
      ITUNA_DIRECT_ORDER_TOKEN: text(),
      JAEGER_UI_URL: httpUrl('http://localhost:16686'),
      ITUNA_ORDERS_PER_MINUTE: integer(3000, 0, 10_000_000),
      ITUNA_CORS_ORIGINS: text(),
    },
    process.env,
  ),
);
const service = config.OTEL_SERVICE_NAME ?? 'ituna-gateway';
const log = createLogger(service, config.LOG_LEVEL);
const kafka = createKafka(service, config.KAFKA_BROKERS, log);
await ensureTopics(kafka, ALL_TOPICS);

const producer = createProducer(kafka);
let producerConnected = false;
producer.on(producer.events.CONNECT, () => (producerConnected = true));
producer.on(producer.events.DISCONNECT, () => (producerConnected = false));
await producer.connect();
const brokerWatch = await watchBrokers(config.KAFKA_BROKERS, (up) =>
  up ? log.info('Kafka is reachable again') : log.warn('Kafka is unreachable: refusing orders with 503 until it is back'),
);

// Every gateway replica reads the whole status stream (its own group, from the beginning) to answer GET /orders/{id}.
const orders = createOrderHistory();
const statusFollower = await runWorker(
  {
    groupId: `ituna-gateway-${randomUUID()}`,
    topic: ordersStatus,
    concurrency: 1,
    commitOffsets: false,
    orderOf: (change) => ({ id: change.orderId, channel: change.channel }),
    handle: async (change) => orders.apply(change, trace.getActiveSpan()?.spanContext().traceId),
  },
  { kafka, log },
);

const send = createPublisher(producer, config.ITUNA_KAFKA_SEND);
const app = await buildApp({
  publish: (messages) => withDeadline(send(messages), PUBLISH_DEADLINE_MS),
  orders,
  isReady: () => producerConnected && brokerWatch.isUp(),
  directOrderToken: config.ITUNA_DIRECT_ORDER_TOKEN,
  traceUiUrl: config.JAEGER_UI_URL,
  ordersPerMinute: config.ITUNA_ORDERS_PER_MINUTE,
  corsOrigins: config.ITUNA_CORS_ORIGINS?.split(',').map((origin) => origin.trim()),
  logger: log,
});

stopGracefully(log, async () => {
  brokerWatch.stop();
  await app.close();
  await statusFollower.stop();
  await producer.disconnect();
});
await app.listen({ port: config.PORT, host: config.HOST });
