import type { FastifyInstance } from 'fastify';
import { Kafka, logLevel } from 'kafkajs';
import type { Producer } from 'kafkajs';
import { createProducer, ensureTopics } from '../../common/kafka/client.ts';
import { createPublisher } from '../../common/kafka/publish.ts';
import type { Outgoing } from '../../common/kafka/publish.ts';
import { buildApp } from '../../gateway/app.ts';
import type { GatewayDeps } from '../../gateway/deps.ts';
import { createLiveSettings } from '../../gateway/live-settings.ts';
import { createOrderHistory, followOrderHistory } from '../../gateway/order-history.ts';
import { createLogger } from '../../common/logger.ts';
import type { OrderHistory } from '../../gateway/order-history.ts';
import { ALL_TOPICS, historyWindow } from '../../common/topics/index.ts';

const silent = createLogger('test-gateway', 'silent');

/** A gateway built for a test, and what it published. */
export interface TestGateway {
  app: FastifyInstance;
  /** The Kafka client of a gateway on a broker; undefined for one that only records what it publishes. */
  kafka?: Kafka;
  orders: OrderHistory;
  /** Every message a recording gateway was asked to publish (empty on a broker). */
  published: Outgoing[];
  close(): Promise<void>;
}

/**
 * Builds the gateway app as `server.ts` does, on a real producer when `brokers` are given (the topics created),
 * otherwise recording what it publishes — for tests of HTTP behaviour alone, which need no broker.
 */
export async function buildTestGateway({
  brokers,
  followHistory = false,
  wrapPublish = (publish) => publish,
  ...deps
}: Partial<GatewayDeps> & {
  brokers?: string;
  followHistory?: boolean;
  /** Wraps the real publish, e.g. to make Kafka slow for one test. */
  wrapPublish?: (publish: GatewayDeps['publish']) => GatewayDeps['publish'];
} = {}): Promise<TestGateway> {
  const published: Outgoing[] = [];
  let kafka: Kafka | undefined;
  let producer: Producer | undefined;
  let publish: GatewayDeps['publish'] = async (messages) => {
    published.push(...messages);
    return messages.map((_, offset) => ({ partition: 0, offset }));
  };
  if (brokers) {
    kafka = new Kafka({ clientId: 'gateway-test', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
    await ensureTopics(kafka, ALL_TOPICS);
    producer = createProducer(kafka);
    await producer.connect();
    publish = createPublisher(producer, 'single');
  }
  const orders = deps.orders ?? createOrderHistory();
  // As server.ts does: the order history follows orders.status, so a repeated Idempotency-Key is found across gateways.
  const history =
    kafka && followHistory ? await followOrderHistory(kafka, silent, orders, historyWindow(86_400_000)) : undefined;
  const app = await buildApp({
    publish: wrapPublish(publish),
    isReady: () => true,
    settings: createLiveSettings(),
    ...(history ? { readBack: ({ partition, offset }) => history.catchUpTo(partition, offset, 5000) } : {}),
    ...deps,
    orders,
  });
  return {
    app,
    kafka,
    orders,
    published,
    async close() {
      await app.close();
      await history?.stop();
      await producer?.disconnect();
    },
  };
}
