import assert from 'node:assert/strict';
import { it } from 'node:test';
import { renderServiceMapText } from '../../../tools/bottlenecks/text.ts';
import { analyzeTraces } from '../../../tools/traces/run-analysis.ts';
import { serviceMap } from '../../../tools/traces/service-map.ts';
import { orderTrace } from '../../../tools/traces/synthetic-orders.ts';

it('When 100 orders over 10 s are mapped, then services and topics are nodes in pipeline order, each edge has its rate, durations, waits and errors, and the bottleneck is marked', () => {
  const traces = Array.from({ length: 100 }, (_, i) =>
    orderTrace({ startMs: 1_000_000 + i * 100, kitchenWaitMs: 200, chefWaitMs: 300 }),
  );
  traces[5]!.find((s) => s.name === 'process orders.placed')!.status = { code: 'error', message: 'bad' };
  const report = analyzeTraces(traces);
  const map = serviceMap(traces, { bottleneck: report.bottleneck?.station });
  assert.deepEqual(
    map.nodes.slice(0, 6).map((n) => [n.id, n.kind, n.rank]),
    [
      ['clients', 'client', 0],
      ['ituna-gateway', 'service', 1],
      ['orders.placed', 'topic', 2],
      ['ituna-order-validation', 'service', 3],
      ['kitchen.tickets', 'topic', 4],
      ['orders.status', 'topic', 4],
    ],
  );
  const edge = (from: string, to: string) => map.edges.find((e) => e.from === from && e.to === to)!;
  assert.equal(edge('clients', 'ituna-gateway').count, 100);
  assert.ok(Math.abs(edge('clients', 'ituna-gateway').perSecond - 100 / map.seconds) < 1e-9);
  assert.ok(map.seconds > 9.9 && map.seconds < 11.5, `${map.seconds} s`);
  const tickets = edge('kitchen.tickets', 'ituna-kitchen');
  assert.equal(tickets.what, 'processed');
  assert.equal(tickets.wait!.p50, 200);
  assert.equal(edge('orders.placed', 'ituna-order-validation').errorRate, 0.01);
  assert.equal(edge('ituna-gateway', 'orders.placed').what, 'sent');
  assert.ok(edge('orders.status', 'ituna-gateway'), "the gateway's order history follows orders.status");
  assert.equal(map.bottleneck, 'ituna-kitchen');
  const text = renderServiceMapText(map);
  assert.match(
    text,
    /^kitchen\.tickets → ituna-kitchen ◀ bottleneck\s+processed\s+100\s+\d+\.\d\/s .* 200\.0 ms \/ 200\.0 ms\s+0%$/m,
  );
  assert.match(text, /^orders\.placed → ituna-order-validation\s+processed\s+100 .* 1\.0%$/m);
});

it('When there are no spans, then the map says so', () => {
  assert.equal(renderServiceMapText(serviceMap([])), 'Service map: no spans.');
});
