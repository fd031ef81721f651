import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka } from 'kafkajs';
import { readTopic } from '../../common/kafka/follower.ts';
import { kitchenTickets, ordersPlaced } from '../../common/topics/index.ts';
import { testBrokers } from '../support/broker.ts';
import { directOrder, onlineOrder } from '../support/fixtures.ts';
import { buildTestGateway } from '../support/gateway.ts';
import type { TestGateway } from '../support/gateway.ts';

// Idempotency-Key on a real broker: a retried order is one order, whichever gateway the retry reaches.
const TOKEN = 'idempotency-test-token';
let brokers: string;
let gateway: TestGateway;
const gateways: TestGateway[] = [];

const post = (to: TestGateway, key: string, body: object = onlineOrder, path = '/orders/online') =>
  to.app.inject({
    method: 'POST',
    url: path,
    headers: { 'content-type': 'application/json', 'idempotency-key': key, authorization: `Bearer ${TOKEN}` },
    payload: body,
  });

/** How many messages `topic` holds for an order (read from the topic itself). */
async function messagesFor(kafka: Kafka, topic: string, orderId: string): Promise<number> {
  return (await readTopic(kafka, topic)).filter((m) => m.key?.toString() === orderId).length;
}

async function gatewayOnBroker(deps: Parameters<typeof buildTestGateway>[0] = {}): Promise<TestGateway> {
  const built = await buildTestGateway({ brokers, managementToken: TOKEN, ...deps });
  gateways.push(built);
  return built;
}

describe('Idempotency-Key', () => {
  before(async () => {
    brokers = await testBrokers();
    gateway = await gatewayOnBroker();
  });
  after(() => Promise.all(gateways.map((g) => g.close())));

  it('When an order is sent twice with one key, then the second answer is the first one and Kafka holds the order once', async () => {
    const key = randomUUID();
    const first = await post(gateway, key);
    assert.equal(first.statusCode, 202);
    assert.equal(first.headers['idempotent-replayed'], undefined);
    const again = await post(gateway, key);
    assert.equal(again.statusCode, 202);
    assert.deepEqual(again.json(), first.json());
    assert.equal(again.headers.location, first.headers.location);
    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.equal(await messagesFor(gateway.kafka!, ordersPlaced.name, first.json().orderId), 1);
  });

  it('When a key is sent again with another body, then it answers 422 and places nothing', async () => {
    const key = randomUUID();
    const first = await post(gateway, key, directOrder, '/orders/direct');
    assert.equal(first.statusCode, 202);
    const other = await post(gateway, key, { items: [{ menuItemId: 'miso-soup', quantity: 3 }] }, '/orders/direct');
    assert.equal(other.statusCode, 422);
    assert.equal(other.json().error.code, 'idempotency_key_reused');
    // The same key on another route is another order.
    assert.equal((await post(gateway, key)).statusCode, 202);
    assert.equal(await messagesFor(gateway.kafka!, kitchenTickets.name, first.json().orderId), 1);
  });

  it('When the first request heard 503 but its order reached Kafka, then retrying with the key returns that order and places nothing new', async () => {
    // Kafka acknowledges after the caller stopped waiting: the 503 of a publish that still lands.
    const slow = await gatewayOnBroker({
      publishDeadlineMs: 50,
      wrapPublish: (publish) => async (messages) => {
        await sleep(300);
        return publish(messages);
      },
    });
    const key = randomUUID();
    const first = await post(slow, key);
    assert.equal(first.statusCode, 503);
    assert.equal(first.headers['retry-after'], '1');
    // A client retrying as told: 503 while the first publish is still unacknowledged, then the first order.
    let retry = await post(slow, key);
    for (let attempt = 1; retry.statusCode === 503 && attempt < 50; attempt++) {
      await sleep(100);
      retry = await post(slow, key);
    }
    assert.equal(retry.statusCode, 202);
    assert.equal(retry.headers['idempotent-replayed'], 'true');
    assert.equal(await messagesFor(slow.kafka!, ordersPlaced.name, retry.json().orderId), 1);
  });

  it('When a key reaches another replica, or a gateway started later, then it answers the first order and places nothing new', async () => {
    const replica = await gatewayOnBroker({ followHistory: true });
    const key = randomUUID();
    const first = await post(gateway, key);
    assert.equal(first.statusCode, 202);
    // At once: the replica catches up with what Kafka holds before it decides the key is new.
    const atReplica = await post(replica, key);
    assert.equal(atReplica.statusCode, 202);
    assert.deepEqual(atReplica.json(), first.json());
    assert.equal(atReplica.headers['idempotent-replayed'], 'true');

    const restarted = await gatewayOnBroker({ followHistory: true });
    const afterRestart = await post(restarted, key);
    assert.deepEqual(afterRestart.json(), first.json());
    assert.equal((await post(restarted, key, { ...onlineOrder, customerName: 'Kenji Sato' })).statusCode, 422);
    assert.equal(await messagesFor(gateway.kafka!, ordersPlaced.name, first.json().orderId), 1);
  });
});
