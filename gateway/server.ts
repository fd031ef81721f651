import { configOrExit, httpUrl, integer, loadConfig, text } from '../common/config.ts';
import { createProducer } from '../common/kafka/client.ts';
import { createPublisher } from '../common/kafka/publish.ts';
import { serviceConfigSchema, startService } from '../common/service/process.ts';
import { historyWindow, historyWindowVariable } from '../common/topics/index.ts';
import { buildApp } from './app.ts';
import { watchBrokers } from './kafka-health.ts';
import { createOrderHistory, followOrderHistory } from './order-history.ts';
import { withDeadline } from './publish-deadline.ts';

// A caller waits at most this long for Kafka's acknowledgement before hearing 503.
const PUBLISH_DEADLINE_MS = 1000;

const config = configOrExit(() =>
  loadConfig(
    {
      ...serviceConfigSchema,
      PORT: integer(3000, 0, 65535),
      HOST: text('127.0.0.1'),
      ITUNA_MANAGEMENT_TOKEN: text(),
      ITUNA_DIRECT_ORDER_TOKEN: text(),
      JAEGER_UI_URL: httpUrl('http://localhost:16686'),
      ITUNA_ORDERS_PER_MINUTE: integer(3000, 0, 10_000_000),
      ITUNA_CORS_ORIGINS: text(),
      ITUNA_HISTORY_WINDOW: historyWindowVariable,
    },
    process.env,
  ),
);

await startService('ituna-gateway', config, async ({ kafka, log, sendMode }) => {
  if (config.ITUNA_DIRECT_ORDER_TOKEN) {
    log.warn('ITUNA_DIRECT_ORDER_TOKEN is deprecated: it is the management token, name it ITUNA_MANAGEMENT_TOKEN');
  }
  const producer = createProducer(kafka);
  let producerConnected = false;
  producer.on(producer.events.CONNECT, () => (producerConnected = true));
  producer.on(producer.events.DISCONNECT, () => (producerConnected = false));
  await producer.connect();
  const brokerWatch = await watchBrokers(config.KAFKA_BROKERS, (up) =>
    up ? log.info('Kafka is reachable again') : log.warn('Kafka is unreachable: refusing orders with 503 until it is back'),
  );

  const window = historyWindow(config.ITUNA_HISTORY_WINDOW);
  const orders = createOrderHistory(window.maxOrders, window.ms);
  const history = await followOrderHistory(kafka, log, orders, window);
  const send = createPublisher(producer, sendMode);
  const app = await buildApp({
    publish: (messages) => withDeadline(send(messages), PUBLISH_DEADLINE_MS),
    orders,
    isReady: () => producerConnected && brokerWatch.isUp(),
    managementToken: config.ITUNA_MANAGEMENT_TOKEN ?? config.ITUNA_DIRECT_ORDER_TOKEN,
    traceUiUrl: config.JAEGER_UI_URL,
    ordersPerMinute: config.ITUNA_ORDERS_PER_MINUTE,
    corsOrigins: config.ITUNA_CORS_ORIGINS?.split(',').map((origin) => origin.trim()),
    logger: log,
  });
  await app.listen({ port: config.PORT, host: config.HOST });
  return {
    async stop() {
      brokerWatch.stop();
      await app.close();
      await history.stop();
      await producer.disconnect();
    },
  };
});
