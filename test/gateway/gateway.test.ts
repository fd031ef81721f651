import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { Kafka } from 'kafkajs';
import { createLogger } from '../../common/logger.ts';
import { controlTopic, ordersPlaced, ordersStatus } from '../../common/topics/index.ts';
import { createLiveSettings, followLiveSettings } from '../../gateway/live-settings.ts';
import { testBrokers } from '../support/broker.ts';
import { onlineOrder } from '../support/fixtures.ts';
import { buildTestGateway } from '../support/gateway.ts';
import type { TestGateway } from '../support/gateway.ts';

// The gateway on a real producer and broker, driven through Fastify's inject.
const TOKEN = 'gateway-test-token';
let brokers: string;
let gateway: TestGateway;
let kafka: Kafka;
let app: FastifyInstance;
const online = onlineOrder;

const postOnline = (payload: unknown, headers: Record<string, string> = {}, to: FastifyInstance = app) =>
  to.inject({
    method: 'POST',
    url: '/orders/online',
    headers: { 'content-type': 'application/json', ...headers },
    payload: payload as object,
  });

describe('gateway over a real broker', () => {
  before(async () => {
    brokers = await testBrokers();
    gateway = await buildTestGateway({ brokers, managementToken: TOKEN });
    ({ app, kafka } = gateway as TestGateway & { kafka: Kafka });
  });
  after(() => gateway?.close());

  it('When a valid website order is posted, then it is on orders.placed (keyed by its id) before the 202', async () => {
    const response = await postOnline(online);
    assert.equal(response.statusCode, 202);
    const { orderId, status } = response.json();
    assert.equal(status, 'accepted');
    assert.equal(response.headers.location, `/orders/${orderId}`);

    const consumer = kafka.consumer({ groupId: `gateway-test-${randomUUID()}` });
    await consumer.connect();
    await consumer.subscribe({ topics: [ordersPlaced.name, ordersStatus.name], fromBeginning: true });
    const seen = new Map<string, unknown>();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`order not found on Kafka; saw ${[...seen.keys()]}`)), 20_000);
      void consumer.run({
        eachMessage: async ({ topic, message }) => {
          if (message.key?.toString() !== orderId) return;
          seen.set(
            topic,
            topic === ordersPlaced.name ? ordersPlaced.decode(message.value) : ordersStatus.decode(message.value),
          );
          if (seen.size === 2) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
    await consumer.disconnect();
    assert.deepEqual((seen.get(ordersPlaced.name) as { items: unknown }).items, online.items);
    assert.equal((seen.get(ordersStatus.name) as { status: string }).status, 'accepted');
    assert.equal(gateway.orders.get(orderId)?.status, 'accepted');
  });

  it('When GET /orders/{id} asks for an unknown or malformed id, then it answers 404 or 400 in JSON', async () => {
    const missing = await app.inject({ url: `/orders/${randomUUID()}` });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().error.code, 'not_found');
    const malformed = await app.inject({ url: '/orders/42' });
    assert.equal(malformed.statusCode, 400);
    assert.equal(malformed.json().error.details[0].field, 'id');
  });

  for (const [name, body, field] of [
    ['a quantity of zero', { ...online, items: [{ menuItemId: 'tuna-nigiri', quantity: 0 }] }, 'items[0].quantity'],
    [
      'a fractional quantity',
      { ...online, items: [{ menuItemId: 'tuna-nigiri', quantity: 1.5 }] },
      'items[0].quantity',
    ],
    ['no items', { ...online, items: [] }, 'items'],
    ['an unknown field', { ...online, coupon: 'FREE' }, 'coupon'],
    ['a missing address', { customerName: 'Aiko', items: online.items }, 'deliveryAddress'],
    [
      'a quantity as a string',
      { ...online, items: [{ menuItemId: 'tuna-nigiri', quantity: '2' }] },
      'items[0].quantity',
    ],
    ['a control character in the name', { ...online, customerName: 'Aiko\u0000' }, 'customerName'],
  ] as const) {
    it(`When an order has ${name}, then it answers 400 naming ${field}`, async () => {
      const response = await postOnline(body);
      assert.equal(response.statusCode, 400, response.body);
      const { error } = response.json();
      assert.equal(error.code, 'invalid_request');
      assert.ok(
        error.details.some((d: { field: string }) => d.field === field),
        JSON.stringify(error),
      );
      assert.match(error.message, new RegExp(`^${field.replace(/[[\].]/g, '\\$&')} `));
    });
  }

  it('When the body is not JSON or not declared as JSON, then it answers 400 or 415 in JSON', async () => {
    const broken = await app.inject({
      method: 'POST',
      url: '/orders/online',
      headers: { 'content-type': 'application/json' },
      payload: '{"customerName":',
    });
    assert.equal(broken.statusCode, 400);
    assert.equal(broken.json().error.code, 'invalid_request');
    const text = await app.inject({
      method: 'POST',
      url: '/orders/online',
      headers: { 'content-type': 'text/plain' },
      payload: 'sushi please',
    });
    assert.equal(text.statusCode, 415);
    assert.equal(text.json().error.code, 'unsupported_media_type');
  });

  it('When a direct order comes without, with a wrong, or with the right token, then it answers 401, 403, 202', async () => {
    const direct = (authorization?: string) =>
      app.inject({
        method: 'POST',
        url: '/orders/direct',
        headers: authorization ? { authorization } : {},
        payload: { items: online.items },
      });
    const missing = await direct();
    assert.equal(missing.statusCode, 401);
    assert.equal(missing.headers['www-authenticate'], 'Bearer');
    assert.equal((await direct('Bearer nope')).statusCode, 403);
    assert.equal((await direct(`Bearer ${TOKEN}`)).statusCode, 202);
  });

  it('When no management token is configured, then direct orders answer 503 "not configured"', async () => {
    const bare = await buildTestGateway();
    const response = await bare.app.inject({
      method: 'POST',
      url: '/orders/direct',
      headers: { authorization: 'Bearer x' },
      payload: { items: online.items },
    });
    await bare.close();
    assert.equal(response.statusCode, 503);
    assert.equal(response.json().error.code, 'not_configured');
  });

  it('When settings are changed without, with a wrong, or with the right token, then 401, 403, then the change is on ituna.control', async () => {
    const put = (payload: object, authorization?: string) =>
      app.inject({ method: 'PUT', url: '/admin/settings', headers: authorization ? { authorization } : {}, payload });
    assert.equal((await put({ kitchenChefs: 3 })).statusCode, 401);
    assert.equal((await put({ kitchenChefs: 3 }, 'Bearer nope')).statusCode, 403);
    const bad = await put({ delays: 'oven=5' }, `Bearer ${TOKEN}`);
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().error.details[0].field, 'delays');
    // Within the pattern but beyond it: a jitter larger than its delay.
    const jitter = await put({ delays: 'cook=10~20' }, `Bearer ${TOKEN}`);
    assert.equal(jitter.statusCode, 400);
    assert.match(jitter.json().error.message, /^delays "cook=10~20": .*jitter at most ms/);
    assert.equal((await put({}, `Bearer ${TOKEN}`)).statusCode, 400);

    const consumer = kafka.consumer({ groupId: `gateway-test-${randomUUID()}` });
    await consumer.connect();
    await consumer.subscribe({ topic: controlTopic.name, fromBeginning: true });
    const response = await put({ delays: 'inventory=150~50', kitchenChefs: 3 }, `Bearer ${TOKEN}`);
    assert.equal(response.statusCode, 202);
    const change = await new Promise<unknown>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          const value = controlTopic.decode(message.value);
          if (value.at === response.json().at) resolve(value);
        },
      });
    });
    await consumer.disconnect();
    assert.deepEqual(change, { delays: 'inventory=150~50', kitchenChefs: 3, at: response.json().at });
  });

  it('When settings are read back, then GET /admin/settings shows each changed setting with when it took effect, to management only', async () => {
    const get = (authorization?: string) =>
      app.inject({ method: 'GET', url: '/admin/settings', headers: authorization ? { authorization } : {} });
    assert.equal((await get()).statusCode, 401);
    assert.equal((await get('Bearer nope')).statusCode, 403);
    const put = (payload: object) =>
      app.inject({ method: 'PUT', url: '/admin/settings', headers: { authorization: `Bearer ${TOKEN}` }, payload });
    const first = (await put({ delays: 'address=20,cook=90~30' })).json();
    const second = (await put({ delays: 'cook=100', kitchenChefs: 5 })).json();
    const settings = await get(`Bearer ${TOKEN}`);
    assert.equal(settings.statusCode, 200);
    const { delays, kitchenChefs } = settings.json();
    assert.deepEqual(delays.address, { ms: 20, jitterMs: 0, at: first.at });
    assert.deepEqual(delays.cook, { ms: 100, jitterMs: 0, at: second.at });
    assert.deepEqual(kitchenChefs, { value: 5, at: second.at });
  });

  it('When a gateway starts, then it reads the settings changed before it from ituna.control', async () => {
    await app.inject({
      method: 'PUT',
      url: '/admin/settings',
      headers: { authorization: `Bearer ${TOKEN}` },
      payload: { kitchenChefs: 7 },
    });
    const settings = createLiveSettings();
    const follower = await followLiveSettings(kafka, createLogger('test', 'silent'), settings);
    await follower.stop();
    assert.equal(settings.snapshot().kitchenChefs?.value, 7);
  });

  it('When a known path is asked with another method, then it answers 405 with Allow in JSON; an unknown path stays 404', async () => {
    const wrong = await app.inject({ method: 'DELETE', url: '/orders/online' });
    assert.equal(wrong.statusCode, 405);
    assert.equal(wrong.headers.allow, 'POST');
    assert.equal(wrong.json().error.code, 'method_not_allowed');
    const settings = await app.inject({ method: 'POST', url: '/admin/settings' });
    assert.equal(settings.statusCode, 405);
    assert.equal(settings.headers.allow, 'GET, HEAD, PUT');
    assert.equal((await app.inject({ method: 'PATCH', url: `/orders/${randomUUID()}` })).headers.allow, 'GET, HEAD');
    assert.equal((await app.inject({ method: 'GET', url: '/nowhere' })).statusCode, 404);
  });

  it('When one client places more orders a minute than allowed, then it gets 429 with rate-limit headers, and may still read orders', async () => {
    const limited = await buildTestGateway({ ordersPerMinute: 2 });
    try {
      const place = () => limited.app.inject({ method: 'POST', url: '/orders/online', payload: online });
      const first = await place();
      assert.equal(first.statusCode, 202);
      assert.equal(first.headers['ratelimit-limit'], '2');
      assert.equal(first.headers['ratelimit-remaining'], '1');
      assert.equal((await place()).statusCode, 202);
      const refused = await place();
      assert.equal(refused.statusCode, 429);
      assert.equal(refused.json().error.code, 'rate_limited');
      assert.match(String(refused.headers['retry-after']), /^\d+$/);
      assert.ok(refused.headers['ratelimit-reset'] !== undefined);
      assert.equal(
        (await limited.app.inject({ url: `/orders/${first.json().orderId}` })).statusCode,
        200,
        'reading is not limited',
      );
    } finally {
      await limited.close();
    }
  });

  it('When a browser on another origin asks, then CORS stays off unless origins are configured', async () => {
    const preflight = (target: FastifyInstance) =>
      target.inject({
        method: 'OPTIONS',
        url: '/orders/online',
        headers: { origin: 'https://sushi.example', 'access-control-request-method': 'POST' },
      });
    assert.equal((await preflight(app)).headers['access-control-allow-origin'], undefined);
    const open = await buildTestGateway({ corsOrigins: ['https://sushi.example'] });
    try {
      assert.equal((await preflight(open.app)).headers['access-control-allow-origin'], 'https://sushi.example');
    } finally {
      await open.close();
    }
  });

  it('When the menu and Swagger UI are asked for, then they are served locally', async () => {
    const menu = (await app.inject({ url: '/menu' })).json();
    assert.ok(menu.some((item: { id: string }) => item.id === 'tuna-nigiri'));
    const ui = await app.inject({ url: '/docs/' });
    assert.equal(ui.statusCode, 200);
    assert.match(ui.body, /swagger-ui/i);
    const spec = (await app.inject({ url: '/docs/json' })).json();
    assert.equal(spec.openapi, '3.1.0');
  });

  it('When requests are served, then each leaves one access-log line with method, URL, status, time and the accepted order, and no token', async () => {
    const lines: Array<Record<string, any>> = [];
    const logger = createLogger('ituna-gateway', 'info', {
      write: (line: string) => void lines.push(JSON.parse(line)),
    });
    const logged = await buildTestGateway({ managementToken: TOKEN, logger });
    try {
      await postOnline(online, {}, logged.app);
      await postOnline({ ...online, customerName: '' }, {}, logged.app);
      await logged.app.inject({
        method: 'POST',
        url: '/orders/direct',
        headers: { authorization: `Bearer ${TOKEN}` },
        payload: { items: online.items },
      });
    } finally {
      await logged.close();
    }
    const access = lines.filter((l) => l.reqId !== undefined && /request/.test(l.msg));
    assert.deepEqual(
      access.map((l) => [
        l.msg,
        l.req?.method,
        l.req?.url,
        l.res?.statusCode,
        typeof l.responseTime,
        typeof l.orderId,
        l.channel,
      ]),
      [
        ['request completed', 'POST', '/orders/online', 202, 'number', 'string', 'online'],
        ['request completed', 'POST', '/orders/online', 400, 'number', 'undefined', undefined],
        ['request completed', 'POST', '/orders/direct', 202, 'number', 'string', 'direct'],
      ],
    );
    assert.equal(lines.filter((l) => l.orderId !== undefined).length, 2, 'one line per accepted order');
    assert.ok(!lines.some((l) => JSON.stringify(l).includes(TOKEN)), 'the management token reached a log line');
  });
});
