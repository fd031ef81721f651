import { randomUUID } from 'node:crypto';
import { trace } from '@opentelemetry/api';
import { configOrExit, httpUrl, integer, loadConfig, text } from '../common/config.ts';
import { createKafka, createProducer, ensureTopics, publish } from '../common/kafka.ts';
import { createLogger } from '../common/logger.ts';
import { serviceConfigSchema, stopGracefully } from '../common/service.ts';
import { ALL_TOPICS, ordersStatus } from '../common/topics/index.ts';
import { runWorker } from '../common/worker.ts';
import { buildApp } from './app.ts';
import { createOrderHistory } from './order-history.ts';

const config = configOrExit(() =>
  loadConfig(
    {
      ...serviceConfigSchema,
      PORT: integer(3000, 0, 65535),
      HOST: text('127.0.0.1'),
      ITUNA_DIRECT_ORDER_TOKEN: text(),
      JAEGER_UI_URL: httpUrl('http://localhost:16686'),
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

// Every gateway replica reads the whole status stream (its own group, from the beginning) to answer GET /orders/{id}.
const orders = createOrderHistory();
const statusFollower = await runWorker(
  {
    groupId: `ituna-gateway-${randomUUID()}`,
    topic: ordersStatus,
    concurrency: 1,
    orderOf: (change) => ({ id: change.orderId, channel: change.channel }),
    handle: async (change) => orders.apply(change, trace.getActiveSpan()?.spanContext().traceId),
  },
  { kafka, log },
);

const app = await buildApp({
  publish: (messages) => publish(producer, messages),
  orders,
  isReady: () => producerConnected,
  directOrderToken: config.ITUNA_DIRECT_ORDER_TOKEN,
  traceUiUrl: config.JAEGER_UI_URL,
  logger: log,
});

stopGracefully(log, async () => {
  await app.close();
  await statusFollower.stop();
  await producer.disconnect();
});
await app.listen({ port: config.PORT, host: config.HOST });
