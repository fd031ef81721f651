import { configOrExit, httpUrl, integer, loadConfig, text } from '../common/config.ts';
import { untilKafkaAnswers } from '../common/kafka/client.ts';
import { createIdempotentProducer } from '../common/kafka/idempotent-producer.ts';
import { createPublisher, messagingServerOf } from '../common/kafka/publish.ts';
import { serviceConfigSchema, runService } from '../common/service/process.ts';
import { historyWindow, historyWindowVariable } from '../common/topics/index.ts';
import { buildApp, trustProxyVariable } from './app.ts';
import { watchBrokers } from './kafka-health.ts';
import { createOrderHistory, followOrderHistory } from './order-history.ts';
import { createLiveSettings, followLiveSettings } from './live-settings.ts';

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
      ITUNA_TRUST_PROXY: trustProxyVariable,
    },
    process.env,
  ),
);

await runService('ituna-gateway', config, async ({ kafka, log, sendMode, lingerMs }) => {
  if (config.ITUNA_DIRECT_ORDER_TOKEN) {
    log.warn('ITUNA_DIRECT_ORDER_TOKEN is deprecated: it is the management token, name it ITUNA_MANAGEMENT_TOKEN');
  }
  const producer = createIdempotentProducer(kafka, log);
  const brokerWatch = await watchBrokers(config.KAFKA_BROKERS, (up) =>
    up
      ? log.info('Kafka is reachable again')
      : log.warn('Kafka is unreachable: refusing orders with 503 until it is back'),
  );

  const window = historyWindow(config.ITUNA_HISTORY_WINDOW);
  const orders = createOrderHistory(window.maxOrders, window.ms);
  const settings = createLiveSettings();
  // Reading the order history is most of a start; the producer and the settings wait for the broker meanwhile.
  const [history, settingsFollower] = await Promise.all([
    followOrderHistory(kafka, log, orders, window),
    followLiveSettings(kafka, log, settings),
    untilKafkaAnswers('connecting the producer', () => producer.connect(), { log }),
  ]);
  const app = await buildApp({
    // Beyond this, a Kafka that does not keep up gets 503 at once rather than a queue that grows without bound.
    publish: createPublisher(producer, sendMode, {
      maxQueued: 20_000,
      server: messagingServerOf(config.KAFKA_BROKERS),
      lingerMs,
    }),
    orders,
    readBack: ({ partition, offset }) => history.catchUpTo(partition, offset, 5000),
    settings,
    isReady: () => producer.isConnected() && brokerWatch.isUp(),
    managementToken: config.ITUNA_MANAGEMENT_TOKEN ?? config.ITUNA_DIRECT_ORDER_TOKEN,
    traceUiUrl: config.JAEGER_UI_URL,
    ordersPerMinute: config.ITUNA_ORDERS_PER_MINUTE,
    corsOrigins: config.ITUNA_CORS_ORIGINS?.split(',').map((origin) => origin.trim()),
    trustProxy: config.ITUNA_TRUST_PROXY,
    logger: log,
  });
  await app.listen({ port: config.PORT, host: config.HOST });
  return {
    url: app.listeningOrigin,
    async stop() {
      brokerWatch.stop();
      await app.close();
      await Promise.all([history.stop(), settingsFollower.stop()]);
      await producer.disconnect();
    },
  };
});
