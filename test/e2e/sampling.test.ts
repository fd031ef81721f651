import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, it } from 'node:test';
import { testBrokers } from '../support/broker.ts';
import { ONLINE_ORDER_STORY, onlineOrder } from '../support/fixtures.ts';
import { startPipeline, waitUntilSettled } from '../support/pipeline.ts';
import type { Pipeline } from '../support/pipeline.ts';
import { startTraceReceiver } from '../support/trace-receiver.ts';
import type { TraceReceiver } from '../support/trace-receiver.ts';

// Sampling at the edge, as docs/tracing.md shows it: a root sampler at the gateway decides each order's fate, and the
// workers' default parent-based sampler follows that decision through Kafka.
let brokers: string;
let receiver: TraceReceiver;
let pipeline: Pipeline | undefined;

before(async () => {
  brokers = await testBrokers();
  receiver = await startTraceReceiver();
});
after(async () => {
  await pipeline?.stop();
  await receiver?.close();
});

it('When the gateway samples half the orders, then every order is still ready, and each trace is whole in every service or absent from all', {
  timeout: 120_000,
}, async () => {
  pipeline = await startPipeline(
    brokers,
    receiver.url,
    { ITUNA_DELAYS: 'address=1,name=1,inventory=1,cook=2' },
    { gateway: { OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.5' } },
  );
  // Each client asks for its trace to be sampled (flags 01), as the load generator and the k6 scripts do: the gateway's
  // root sampler decides regardless. 24 orders at one half: all alike once in 8 million runs.
  const orders: Array<{ orderId: string; traceId: string; sampled: boolean }> = [];
  for (let i = 0; i < 24; i++) {
    const traceId = randomBytes(16).toString('hex');
    const response = await fetch(`${pipeline.gatewayUrl}/orders/online`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01`,
      },
      body: JSON.stringify(onlineOrder),
    });
    assert.equal(response.status, 202);
    const { orderId } = (await response.json()) as { orderId: string };
    // The W3C traceresponse header tells the caller whether its request was recorded.
    const traceresponse = response.headers.get('traceresponse') ?? '';
    assert.match(traceresponse, new RegExp(`^00-${traceId}-[\\da-f]{16}-0[01]$`));
    orders.push({ orderId, traceId, sampled: traceresponse.endsWith('-01') });
  }
  await waitUntilSettled(
    pipeline.gatewayUrl,
    orders.map((o) => o.orderId),
  );
  // SIGTERM: each service flushes its spans before it exits.
  assert.deepEqual(await pipeline.stop(), [0, 0, 0]);
  pipeline = undefined;

  const sampled = orders.filter((o) => o.sampled);
  assert.ok(sampled.length > 0 && sampled.length < orders.length, `${sampled.length} of ${orders.length} sampled`);
  for (const order of orders) {
    const spans = receiver.trace(order.traceId);
    if (!order.sampled) {
      assert.equal(spans.length, 0, `unsampled order ${order.orderId} has spans`);
      continue;
    }
    // The two-dish online order's whole story, as test/e2e/pipeline.test.ts checks it. A worker that cannot claim a
    // partition yet (a fresh broker's transaction coordinator may still be loading) fails that message's first delivery
    // (`error.type` ClaimFailedError) and reads it again: a second span of the same message.
    const story = new Map<string, string>();
    for (const span of spans) {
      const key = span.name.startsWith('process ')
        ? `${span.service} ${span.name} @${span.attributes['messaging.kafka.offset']}`
        : span.spanId;
      story.set(key, span.name);
    }
    assert.deepEqual([...story.values()].sort(), ONLINE_ORDER_STORY, `sampled order ${order.orderId}`);
    assert.deepEqual([...new Set(spans.map((s) => s.service))].sort(), [
      'ituna-gateway',
      'ituna-kitchen',
      'ituna-order-validation',
    ]);
  }
});
