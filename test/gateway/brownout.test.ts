import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { once } from 'node:events';
import { after, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { PublisherFullError } from '../../common/kafka/publish.ts';
import { trustProxyVariable } from '../../gateway/app.ts';
import { onlineOrder } from '../support/fixtures.ts';
import { buildTestGateway } from '../support/gateway.ts';
import type { TestGateway } from '../support/gateway.ts';

// What a client hears when Kafka is slow or overwhelmed, and who counts as the client: answers that tell the truth.
const TOKEN = 'brownout-test-token';
const gateways: TestGateway[] = [];
after(() => Promise.all(gateways.map((g) => g.close())));
const gateway = async (deps: Parameters<typeof buildTestGateway>[0]) => {
  const built = await buildTestGateway({ managementToken: TOKEN, ...deps });
  gateways.push(built);
  return built;
};
const order = (g: TestGateway, headers: Record<string, string> = {}) =>
  g.app.inject({
    method: 'POST',
    url: '/orders/online',
    headers: { 'content-type': 'application/json', ...headers },
    payload: onlineOrder,
  });

/** A gateway whose every publish takes 200 ms, four times its 50 ms deadline. */
const slowGateway = () =>
  gateway({
    publishDeadlineMs: 50,
    wrapPublish: (publish) => async (messages) => {
      await sleep(200);
      return publish(messages);
    },
  });

it('When an order without a key outlasts the deadline, then 503 says it may still be placed and where to look, and it is', async () => {
  const slow = await slowGateway();
  const answer = await order(slow);
  assert.equal(answer.statusCode, 503);
  assert.equal(answer.headers['retry-after'], '1');
  assert.match(answer.json().error.message, /may still be placed, as order [0-9a-f-]{36}/);
  const location = answer.headers.location as string;
  assert.match(location, /^\/orders\/[0-9a-f-]{36}$/);
  await sleep(300);
  const placed = await slow.app.inject({ method: 'GET', url: location });
  assert.equal(placed.statusCode, 200, 'the order the 503 named was placed after all');
  assert.equal(slow.published.length, 2);
});

it('When the publisher is full, then an order is refused at once with 503 saying nothing was accepted', async () => {
  const full = await gateway({
    wrapPublish: () => () => Promise.reject(new PublisherFullError(20_000)),
  });
  const answer = await order(full);
  assert.equal(answer.statusCode, 503);
  assert.match(answer.json().error.message, /nothing was accepted/);
  assert.equal(answer.headers.location, undefined);
});

it('When a settings change outlasts the deadline, then 503 says it may still take effect', async () => {
  const slow = await slowGateway();
  const answer = await slow.app.inject({
    method: 'PUT',
    url: '/admin/settings',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    payload: { kitchenChefs: 4 },
  });
  assert.equal(answer.statusCode, 503);
  assert.match(answer.json().error.message, /may still take effect/);
});

it('When clients reach the gateway through a trusted proxy, then each client has keys of its own; through an untrusted one, they share them', async () => {
  const key = randomUUID();
  const behind = (g: TestGateway, client: string) => order(g, { 'idempotency-key': key, 'x-forwarded-for': client });
  const trusting = await gateway({ trustProxy: trustProxyVariable('127.0.0.1') });
  const [a, b] = [await behind(trusting, '203.0.113.7'), await behind(trusting, '203.0.113.8')];
  assert.deepEqual([a.statusCode, b.statusCode], [202, 202]);
  assert.notEqual(a.json().orderId, b.json().orderId, 'two clients, two orders');
  assert.equal(b.headers['idempotent-replayed'], undefined);

  const untrusting = await gateway({});
  const [c, d] = [await behind(untrusting, '203.0.113.7'), await behind(untrusting, '203.0.113.8')];
  assert.equal(c.json().orderId, d.json().orderId, 'without trust, the proxy is the client');
  assert.equal(d.headers['idempotent-replayed'], 'true');
  assert.throws(() => trustProxyVariable('proxy.example'), /addresses or CIDR ranges/);
  assert.deepEqual(
    [trustProxyVariable('true'), trustProxyVariable('2'), trustProxyVariable('10.0.0.0/8, 127.0.0.1')],
    [true, 2, ['10.0.0.0/8', '127.0.0.1']],
  );
});

it('When a client opens a connection and goes quiet, then the gateway closes it', async () => {
  const quiet = await gateway({ connectionTimeoutMs: 300 });
  const address = await quiet.app.listen({ port: 0, host: '127.0.0.1' });
  const socket = connect(Number(new URL(address).port), '127.0.0.1');
  await once(socket, 'connect');
  socket.write('POST /orders/online HTTP/1.1\r\nHost: x\r\n');
  const started = performance.now();
  await Promise.race([once(socket, 'close'), sleep(5000).then(() => assert.fail('still open after 5 s'))]);
  assert.ok(performance.now() - started < 3000);
});
