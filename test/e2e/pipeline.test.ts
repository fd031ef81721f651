import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FlatSpan } from '../../tools/traces/otlp.ts';
import { formatTraceTree } from '../../tools/traces/tree.ts';
import type { ServiceProcess } from '../../tools/start/spawn-service.ts';
import { testBrokers } from '../support/broker.ts';
import { startPipeline } from '../support/pipeline.ts';
import type { Pipeline } from '../support/pipeline.ts';
import { hasKcat, readTopicWithKcat } from '../support/kcat.ts';
import { startTraceReceiver } from '../support/trace-receiver.ts';
import type { TraceReceiver } from '../support/trace-receiver.ts';
import { ONLINE_ORDER_STORY, onlineOrder, onsiteOrder } from '../support/fixtures.ts';

// The whole pipeline as real processes on the real broker, traced into an OTLP receiver of the test's own.
const TOKEN = `e2e-${randomBytes(8).toString('hex')}`;
const { deliveryAddress: address } = onlineOrder;

interface Placed {
  orderId: string;
  traceId: string;
  response: Response;
}

let brokers: string;
let receiver: TraceReceiver;
let gatewayUrl: string;
let pipeline: Pipeline;
let services: ServiceProcess[] = [];

async function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Placed> {
  const response = await fetch(`${gatewayUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const json = (await response.json()) as { orderId: string; traceId: string };
  assert.equal(response.status, 202, JSON.stringify(json));
  return { ...json, response };
}

async function orderWhenSettled(orderId: string): Promise<Record<string, any>> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const order = (await (await fetch(`${gatewayUrl}/orders/${orderId}`)).json()) as Record<string, any>;
    if (order.status === 'ready' || order.status === 'rejected') return order;
    if (Date.now() > deadline) assert.fail(`order ${orderId} stuck at ${JSON.stringify(order)}`);
    await sleep(100);
  }
}

/**
 * Waits until the order's trace holds every span named in `names` and only its root lacks a parent, then returns the
 * whole trace. Each service exports on its own schedule: a consumer's span can arrive before its producer's.
 */
function traceWith(traceId: string, names: string[]): Promise<FlatSpan[]> {
  return receiver
    .waitFor(
      (spans) => {
        const trace = spans.filter((s) => s.traceId === traceId);
        const present = new Set(trace.map((s) => s.name));
        const ids = new Set(trace.map((s) => s.spanId));
        const orphans = trace.filter((s) => !s.parentSpanId || !ids.has(s.parentSpanId)).length;
        return names.every((n) => present.has(n)) && orphans === 1;
      },
      { timeoutMs: 30_000, what: `trace ${traceId} with ${names.join(', ')}` },
    )
    .then(() => receiver.trace(traceId));
}

const byId = (spans: FlatSpan[]) => new Map(spans.map((s) => [s.spanId, s]));
const one = (spans: FlatSpan[], name: string, service?: string) => {
  const found = spans.filter((s) => s.name === name && (!service || s.service === service));
  assert.equal(found.length, 1, `expected one "${name}"${service ? ` in ${service}` : ''}, found ${found.length}`);
  return found[0]!;
};
const isDescendant = (spans: FlatSpan[], child: FlatSpan, ancestor: FlatSpan) => {
  const index = byId(spans);
  for (let s: FlatSpan | undefined = child; s; s = s.parentSpanId ? index.get(s.parentSpanId) : undefined) {
    if (s.spanId === ancestor.spanId) return true;
  }
  return false;
};

/** The guarantees every order's trace must keep, whatever its route. */
function assertOneConnectedTrace(spans: FlatSpan[], orderId: string, channel: string) {
  const index = byId(spans);
  const roots = spans.filter((s) => !s.parentSpanId || !index.has(s.parentSpanId));
  assert.equal(roots.length, 1, `one root expected, got ${roots.map((r) => r.name).join(', ')}`);
  assert.equal(roots[0]!.kind, 'server');
  assert.equal(roots[0]!.service, 'ituna-gateway');

  for (const consumer of spans.filter((s) => s.kind === 'consumer')) {
    const parent = index.get(consumer.parentSpanId ?? '');
    assert.ok(parent, `${consumer.name} has no parent in the trace`);
    assert.equal(parent.kind, 'producer', `${consumer.name}'s parent is ${parent.name}`);
    assert.equal(parent.attributes['messaging.destination.name'], consumer.attributes['messaging.destination.name']);
    assert.equal(consumer.attributes['messaging.system'], 'kafka');
    assert.equal(consumer.attributes['messaging.operation.type'], 'process');
    assert.equal(consumer.attributes['messaging.kafka.message.key'], orderId);
    assert.equal(
      typeof consumer.attributes['ituna.queue.wait_ms'],
      'number',
      `${consumer.name} lacks ituna.queue.wait_ms`,
    );
    assert.equal(typeof consumer.attributes['messaging.destination.partition.id'], 'string');
    assert.ok(
      Number.isInteger(consumer.attributes['messaging.kafka.offset']),
      `${consumer.name}: offset as an integer`,
    );
    // Parented by the producer and linked to it (the creation context), as the messaging conventions ask.
    assert.deepEqual(
      consumer.links.map((l) => l.spanId),
      [parent.spanId],
      `${consumer.name} links to its producer`,
    );
  }
  for (const producer of spans.filter((s) => s.kind === 'producer')) {
    assert.equal(producer.attributes['messaging.system'], 'kafka');
    assert.equal(producer.attributes['messaging.operation.type'], 'send');
    assert.equal(producer.attributes['messaging.kafka.message.key'], orderId);
    // Known once Kafka acknowledged the message: where it was written, and the broker.
    assert.equal(typeof producer.attributes['messaging.destination.partition.id'], 'string', producer.name);
    assert.ok(Number.isInteger(producer.attributes['messaging.kafka.offset']), `${producer.name}: offset`);
    assert.equal(producer.attributes['server.address'], '127.0.0.1');
    assert.equal(typeof producer.attributes['server.port'], 'number');
  }
  // Hook spans that ended before the gateway assigned the id cannot carry it; every other span does.
  const before = spans.filter((s) => s.attributes['ituna.order.id'] === undefined);
  assert.ok(
    before.every((s) => s.service === 'ituna-gateway' && s.kind === 'internal' && s.name !== 'handler'),
    `spans without ituna.order.id: ${before.map((s) => `${s.service}/${s.name}`).join(', ')}`,
  );
  for (const span of spans.filter((s) => s.attributes['ituna.order.id'] !== undefined)) {
    assert.equal(span.attributes['ituna.order.id'], orderId);
    assert.equal(span.attributes['ituna.order.channel'], channel, `${span.name} channel`);
  }
}

// Every guarantee holds for both ways of sending: group commit (the default) and one awaited send per call.
for (const send of ['batched', 'single'] as const)
  describe(`the traced order pipeline, end to end (ITUNA_KAFKA_SEND=${send})`, { timeout: 180_000 }, () => {
    before(async () => {
      brokers = await testBrokers();
      receiver = await startTraceReceiver();
      pipeline = await startPipeline(brokers, receiver.url, {
        ITUNA_DELAYS: 'address=2,name=1,inventory=3,cook=5',
        ITUNA_MANAGEMENT_TOKEN: TOKEN,
        ITUNA_KAFKA_SEND: send,
      });
      gatewayUrl = pipeline.gatewayUrl;
      services = pipeline.services;
    });

    after(async () => {
      const codes = await pipeline?.stop();
      await receiver?.close();
      if (codes) assert.deepEqual(codes, [0, 0, 0], 'every service exits cleanly on SIGTERM');
    });

    it('When a website order is placed, then it is one trace from the HTTP call through validation to the kitchen', async (t) => {
      const placed = await post('/orders/online', onlineOrder);
      assert.equal(placed.response.headers.get('location'), `/orders/${placed.orderId}`);
      assert.match(
        placed.response.headers.get('traceresponse') ?? '',
        new RegExp(`^00-${placed.traceId}-[0-9a-f]{16}-01$`),
      );

      const order = await orderWhenSettled(placed.orderId);
      assert.equal(order.status, 'ready');
      assert.equal(order.traceId, placed.traceId);
      assert.deepEqual(
        order.history.map((h: { status: string }) => h.status),
        ['accepted', 'validated', 'cooking', 'ready'],
      );
      assert.deepEqual(
        order.timeline.stages.map((s: { stage: string }) => s.stage),
        ['waiting for validation', 'validation', 'waiting for the kitchen', 'waiting for a chef', 'cooking'],
      );
      assert.equal(order.timeline.traceUrl, `http://localhost:16686/trace/${placed.traceId}`);
      t.diagnostic(`timeline: ${JSON.stringify(order.timeline)}`);

      const spans = await traceWith(placed.traceId, [
        'POST /orders/online',
        'process orders.placed',
        'cook order',
        'process kitchen.tickets',
      ]);
      t.diagnostic(`\n${formatTraceTree(spans)}`);
      assertOneConnectedTrace(spans, placed.orderId, 'online');
      assert.deepEqual(
        new Set(spans.map((s) => s.service)),
        new Set(['ituna-gateway', 'ituna-order-validation', 'ituna-kitchen']),
      );
      // The order's story in 12 spans; status updates are events on the spans that made them.
      assert.deepEqual(spans.map((s) => s.name).sort(), ONLINE_ORDER_STORY);

      const server = one(spans, 'POST /orders/online');
      const sendPlaced = one(spans, 'send orders.placed', 'ituna-gateway');
      assert.ok(isDescendant(spans, sendPlaced, server), 'send orders.placed sits under the HTTP call');
      assert.equal(server.attributes['ituna.order.id'], placed.orderId);
      const processPlaced = one(spans, 'process orders.placed', 'ituna-order-validation');
      assert.equal(processPlaced.parentSpanId, sendPlaced.spanId);
      assert.equal(processPlaced.attributes['ituna.validation.result'], 'valid');
      assert.deepEqual(
        spans
          .filter((s) => s.parentSpanId === processPlaced.spanId && s.name.startsWith('validate '))
          .map((s) => s.name)
          .sort(),
        ['validate address', 'validate inventory', 'validate name'],
      );
      const sendTicket = one(spans, 'send kitchen.tickets', 'ituna-order-validation');
      assert.equal(sendTicket.parentSpanId, processPlaced.spanId);
      const processTicket = one(spans, 'process kitchen.tickets', 'ituna-kitchen');
      assert.equal(processTicket.parentSpanId, sendTicket.spanId);
      const cook = one(spans, 'cook order');
      assert.equal(cook.parentSpanId, processTicket.spanId);
      assert.deepEqual(
        spans.filter((s) => s.parentSpanId === cook.spanId).map((s) => s.name),
        ['prepare tuna-nigiri', 'prepare miso-soup'],
      );
      // Each status, where it was sent: an event on the span that did the work.
      const statusesOn = (span: FlatSpan) =>
        span.events
          .filter((e) => e.name === 'send orders.status')
          .map((e) => [e.attributes['ituna.order.status'], e.attributes['messaging.destination.name']]);
      assert.deepEqual(statusesOn(server), [['accepted', 'orders.status']]);
      assert.deepEqual(statusesOn(processPlaced), [['validated', 'orders.status']]);
      assert.deepEqual(statusesOn(processTicket), [
        ['cooking', 'orders.status'],
        ['ready', 'orders.status'],
      ]);
    });

    it("When a worker logs an order, then the JSON line carries the order id and the order's trace and span ids", async () => {
      const placed = await post('/orders/online', onlineOrder);
      await orderWhenSettled(placed.orderId);
      const spans = await traceWith(placed.traceId, ['process orders.placed', 'cook order']);
      for (const [service, message] of [
        [services[0]!, 'order validated'],
        [services[1]!, 'order ready'],
      ] as const) {
        const line = service.lines
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l))
          .find((l) => l.orderId === placed.orderId && l.msg === message);
        assert.ok(line, `${service.name} logged no "${message}" for the order`);
        assert.equal(line.trace_id, placed.traceId);
        assert.ok(
          spans.some((s) => s.spanId === line.span_id),
          'span_id names a span of the trace',
        );
        assert.equal(line.service, service.name === 'validation' ? 'ituna-order-validation' : 'ituna-kitchen');
      }
    });

    it('When an order is placed at a table, then it is validated and cooked in one trace', async () => {
      const placed = await post('/orders/onsite', onsiteOrder);
      assert.equal((await orderWhenSettled(placed.orderId)).status, 'ready');
      const spans = await traceWith(placed.traceId, ['POST /orders/onsite', 'validate address', 'cook order']);
      assertOneConnectedTrace(spans, placed.orderId, 'onsite');
      assert.equal(one(spans, 'validate address').attributes['ituna.validation.result'], 'skipped');
    });

    it('When management sends a direct order, then it reaches the kitchen with no validation spans', async () => {
      const placed = await post(
        '/orders/direct',
        { items: [{ menuItemId: 'unagi-don', quantity: 1 }] },
        { authorization: `Bearer ${TOKEN}` },
      );
      const order = await orderWhenSettled(placed.orderId);
      assert.deepEqual(
        order.history.map((h: { status: string }) => h.status),
        ['accepted', 'cooking', 'ready'],
      );
      const spans = await traceWith(placed.traceId, ['POST /orders/direct', 'process kitchen.tickets', 'cook order']);
      assertOneConnectedTrace(spans, placed.orderId, 'direct');
      assert.ok(!spans.some((s) => s.service === 'ituna-order-validation' || s.name.startsWith('validate')));
      assert.equal(
        one(spans, 'process kitchen.tickets').parentSpanId,
        one(spans, 'send kitchen.tickets', 'ituna-gateway').spanId,
      );
    });

    it('When an order fails its checks, then it is rejected with reasons and never reaches the kitchen', async () => {
      const placed = await post('/orders/online', {
        ...onlineOrder,
        deliveryAddress: { ...address, zip: '94103' },
        items: [{ menuItemId: 'unicorn-roll', quantity: 1 }],
      });
      const order = await orderWhenSettled(placed.orderId);
      assert.equal(order.status, 'rejected');
      assert.deepEqual(order.reasons, [
        { check: 'address', message: 'zip 94103 is outside the delivery area' },
        { check: 'inventory', message: 'unicorn-roll is not on the menu' },
      ]);
      const spans = await traceWith(placed.traceId, ['process orders.placed']);
      assertOneConnectedTrace(spans, placed.orderId, 'online');
      const processPlaced = one(spans, 'process orders.placed');
      assert.equal(processPlaced.attributes['ituna.validation.result'], 'rejected');
      assert.deepEqual(
        processPlaced.events
          .filter((e) => e.name === 'send orders.status')
          .map((e) => e.attributes['ituna.order.status']),
        ['rejected'],
      );
      // The kitchen reads every status (to know what it already cooked), but gets no ticket for this order.
      assert.ok(!spans.some((s) => ['send kitchen.tickets', 'process kitchen.tickets', 'cook order'].includes(s.name)));
    });

    it("When the client sends a traceparent, then the order's trace starts at the client's call", async () => {
      const clientTraceId = randomBytes(16).toString('hex');
      const clientSpanId = randomBytes(8).toString('hex');
      const placed = await post('/orders/online', onlineOrder, {
        traceparent: `00-${clientTraceId}-${clientSpanId}-01`,
      });
      assert.equal(placed.traceId, clientTraceId);
      await orderWhenSettled(placed.orderId);
      const spans = await traceWith(clientTraceId, ['POST /orders/online', 'cook order']);
      assert.equal(one(spans, 'POST /orders/online').parentSpanId, clientSpanId);
      assert.ok(spans.every((s) => s.traceId === clientTraceId));
    });

    it("When management slows cooking down while the pipeline runs, then the change's trace shows the token check and the next order cooks that slowly", async () => {
      const put = (settings: object) =>
        fetch(`${gatewayUrl}/admin/settings`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
          body: JSON.stringify(settings),
        });
      const changed = await put({ delays: 'cook=300' });
      assert.equal(changed.status, 202);
      // A management route keeps Fastify's spans (@fastify/otel): its token check shows as a hook span of its own.
      const changeTraceId = (changed.headers.get('traceresponse') ?? '').split('-')[1]!;
      const changeSpans = await traceWith(changeTraceId, ['PUT /admin/settings', 'request']);
      assert.ok(
        changeSpans.some((s) => s.name.startsWith('onRequest - ')),
        `no hook span in ${changeSpans.map((s) => s.name).join(', ')}`,
      );
      try {
        const placed = await post(
          '/orders/direct',
          { items: [{ menuItemId: 'edamame', quantity: 1 }] },
          { authorization: `Bearer ${TOKEN}` },
        );
        const order = await orderWhenSettled(placed.orderId);
        const cooking = order.timeline.stages.find((s: { stage: string }) => s.stage === 'cooking');
        // Node's timers count whole milliseconds of a monotonic clock and the stage's ends are whole milliseconds of the
        // wall clock, so a 300 ms dish can read as 299 ms (seen once).
        assert.ok(cooking.ms >= 299, `cooking took ${cooking.ms} ms after the change`);
      } finally {
        assert.equal((await put({ delays: 'cook=5' })).status, 202);
      }
    });

    it('When a plain Kafka client reads the topics, then each message carries traceparent in its headers and no tracing data in its value', async (t) => {
      if (!(await hasKcat())) {
        if (process.env.CI) assert.fail('kcat is missing: .ci/run must install it (apt-get install -y kcat)');
        t.skip('kcat is not installed (apt-get install -y kcat)');
        return;
      }
      const placed = await post('/orders/online', onlineOrder);
      await orderWhenSettled(placed.orderId);
      for (const topic of ['orders.placed', 'kitchen.tickets', 'orders.status']) {
        const messages = (await readTopicWithKcat(brokers, topic)).filter((m) => m.key === placed.orderId);
        assert.ok(messages.length > 0, `no message for the order on ${topic}`);
        for (const message of messages) {
          assert.match(
            message.headers,
            new RegExp(`traceparent=00-${placed.traceId}-[0-9a-f]{16}-01`),
            `${topic}: ${message.headers}`,
          );
          assert.match(message.headers, /content-type=application\/json/);
          assert.doesNotMatch(message.value, /traceparent|traceId|spanId/i);
        }
      }
    });
  });
