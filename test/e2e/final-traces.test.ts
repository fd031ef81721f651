import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, it } from 'node:test';
import type { FlatSpan } from '../../tools/traces/otlp.ts';
import { testBrokers } from '../support/broker.ts';
import { directOrder, onlineOrder, onsiteOrder } from '../support/fixtures.ts';
import { startPipeline, waitUntilSettled } from '../support/pipeline.ts';
import type { Pipeline } from '../support/pipeline.ts';
import { startTraceReceiver } from '../support/trace-receiver.ts';
import type { TraceReceiver } from '../support/trace-receiver.ts';

// A finished order's trace is final: restarting the services, which then catch up with orders.status, adds nothing.
const TOKEN = `final-${randomBytes(8).toString('hex')}`;
const env = { ITUNA_DELAYS: 'address=1,name=1,inventory=1,cook=2', ITUNA_MANAGEMENT_TOKEN: TOKEN };
let brokers: string;
let receiver: TraceReceiver;
let pipeline: Pipeline | undefined;

async function place(
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ orderId: string; traceId: string }> {
  const response = await fetch(`${pipeline!.gatewayUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  assert.equal(response.status, 202);
  return (await response.json()) as { orderId: string; traceId: string };
}

/** A trace as a sorted list of its spans, every field included: two snapshots are equal only if nothing changed. */
const snapshot = (spans: FlatSpan[]) => spans.map((s) => JSON.stringify(s)).sort();

/** Stops the pipeline with SIGTERM: every process flushes its spans before it exits. */
async function stopPipeline() {
  const codes = await pipeline!.stop();
  pipeline = undefined;
  assert.deepEqual(codes, [0, 0, 0]);
}

before(async () => {
  brokers = await testBrokers();
  receiver = await startTraceReceiver();
});
after(async () => {
  await pipeline?.stop();
  await receiver?.close();
});

it('When the whole stack is restarted twice, then every finished order keeps exactly the spans it had, and a new order gets at most 12', {
  timeout: 180_000,
}, async (t) => {
  pipeline = await startPipeline(brokers, receiver.url, env);
  const orders = [
    await place('/orders/online', onlineOrder),
    await place('/orders/onsite', onsiteOrder),
    await place('/orders/direct', directOrder, { authorization: `Bearer ${TOKEN}` }),
    await place('/orders/online', { ...onlineOrder, items: [{ menuItemId: 'otoro-nigiri', quantity: 1 }] }),
  ];
  await waitUntilSettled(
    pipeline.gatewayUrl,
    orders.map((o) => o.orderId),
  );
  await stopPipeline();
  const before = new Map(orders.map((o) => [o.traceId, snapshot(receiver.trace(o.traceId))]));
  for (const [traceId, spans] of before) {
    assert.ok(spans.length >= 6, `trace ${traceId} has only ${spans.length} spans`);
    assert.ok(
      spans.some((s) => s.includes('"send orders.status"')),
      'each status is an event on the span that sent it',
    );
  }

  for (let restart = 1; restart <= 2; restart++) {
    pipeline = await startPipeline(brokers, receiver.url, env);
    if (restart === 2) {
      const fresh = await place('/orders/online', onlineOrder);
      await waitUntilSettled(pipeline.gatewayUrl, [fresh.orderId]);
      await stopPipeline();
      const spans = receiver.trace(fresh.traceId);
      assert.ok(spans.length <= 12, `a new order's trace has ${spans.length} spans`);
      assert.equal(
        spans.filter((s) => s.name === 'process orders.status').length,
        0,
        'the views of orders.status (order history, handled orders) read untraced',
      );
    } else {
      await stopPipeline();
    }
  }

  for (const [traceId, spans] of before)
    assert.deepEqual(snapshot(receiver.trace(traceId)), spans, `trace ${traceId} changed after restarts`);
  t.diagnostic(
    `${before.size} traces (${[...before.values()].map((s) => s.length).join(', ')} spans) unchanged after two restarts`,
  );
});
