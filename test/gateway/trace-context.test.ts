import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, it } from 'node:test';
import { spawnService } from '../../tools/start/spawn-service.ts';
import type { ServiceProcess } from '../../tools/start/spawn-service.ts';
import { testBrokers } from '../support/broker.ts';
import { startTraceReceiver } from '../support/trace-receiver.ts';
import type { TraceReceiver } from '../support/trace-receiver.ts';
import { onlineOrder } from '../support/fixtures.ts';

// How far the gateway trusts what callers send about tracing, checked on real gateway processes.
const TOKEN = `secret-${randomBytes(8).toString('hex')}`;
const order = onlineOrder;
let receiver: TraceReceiver;
const gateways: ServiceProcess[] = [];

async function gateway(
  trust: boolean,
  tokenVariable = 'ITUNA_MANAGEMENT_TOKEN',
): Promise<{ url: string; process: ServiceProcess }> {
  const service = spawnService('gateway', {
    KAFKA_BROKERS: await testBrokers(),
    PORT: '0',
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_BSP_SCHEDULE_DELAY: '100',
    ITUNA_TRUST_INCOMING_TRACE_CONTEXT: String(trust),
    [tokenVariable]: TOKEN,
  });
  gateways.push(service);
  return { url: (await service.ready)!, process: service };
}

const post = (url: string, path: string, body: unknown, headers: Record<string, string>) =>
  fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

before(async () => {
  receiver = await startTraceReceiver();
});
after(async () => {
  await Promise.all(gateways.map((g) => g.stop()));
  await receiver?.close();
});

it('When the gateway is a public edge (ITUNA_TRUST_INCOMING_TRACE_CONTEXT=false), then a caller cannot choose the trace or its baggage', async () => {
  const { url } = await gateway(false);
  const clientTrace = randomBytes(16).toString('hex');
  const response = await post(url, '/orders/online', order, {
    traceparent: `00-${clientTrace}-${randomBytes(8).toString('hex')}-01`,
    baggage: 'ituna.run.id=forged,ituna.order.id=forged',
  });
  assert.equal(response.status, 202);
  const { traceId, orderId } = (await response.json()) as { traceId: string; orderId: string };
  assert.notEqual(traceId, clientTrace);
  const spans = await receiver.waitFor(
    (all) => all.some((s) => s.traceId === traceId && s.name === 'send orders.placed'),
    { what: 'the order trace' },
  );
  const trace = spans.filter((s) => s.traceId === traceId);
  assert.ok(
    trace.every((s) => s.attributes['ituna.run.id'] === undefined),
    'forged baggage is not recorded',
  );
  assert.ok(
    trace
      .filter((s) => s.attributes['ituna.order.id'] !== undefined)
      .every((s) => s.attributes['ituna.order.id'] === orderId),
  );
});

it('When a trusted gateway gets a malformed traceparent, then the order starts a new trace and the gateway logs why', async () => {
  const { url, process } = await gateway(true);
  const response = await post(url, '/orders/online', order, { traceparent: '00-not-a-trace-id-01' });
  assert.equal(response.status, 202);
  const { traceId } = (await response.json()) as { traceId: string };
  assert.match(traceId, /^[\da-f]{32}$/);
  assert.ok(
    await process.lineMatching((l) => l.includes('ignored a malformed traceparent')),
    'a warning names the malformed header',
  );
});

it('When management places a direct order, then its token appears in no log line', async () => {
  const { url, process } = await gateway(true);
  assert.equal(
    (await post(url, '/orders/direct', { items: order.items }, { authorization: `Bearer ${TOKEN}` })).status,
    202,
  );
  assert.equal(
    (await post(url, '/orders/direct', { items: order.items }, { authorization: `Bearer wrong-${TOKEN}` })).status,
    403,
  );
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.ok(process.lines.length > 0);
  assert.ok(!process.lines.some((l) => l.includes(TOKEN)), 'the token leaked into the logs');
});

it('When the token is given under its old name ITUNA_DIRECT_ORDER_TOKEN, then it still works and the gateway says the name is deprecated', async () => {
  const { url, process } = await gateway(true, 'ITUNA_DIRECT_ORDER_TOKEN');
  assert.equal(
    (await post(url, '/orders/direct', { items: order.items }, { authorization: `Bearer ${TOKEN}` })).status,
    202,
  );
  assert.ok(
    await process.lineMatching((l) => /ITUNA_DIRECT_ORDER_TOKEN is deprecated.*ITUNA_MANAGEMENT_TOKEN/.test(l)),
    'a deprecation line names the new variable',
  );
});
