import assert from 'node:assert/strict';
import { it } from 'node:test';
import { traceGraph } from '../../../tools/traces/graph.ts';
import { orderTrace } from '../../../tools/traces/synthetic-orders.ts';

it("When an order's trace becomes a graph, then repeated operations fold with a count, Kafka hops carry topic and wait, and the critical path runs through the kitchen's wait", () => {
  const spans = orderTrace({ startMs: 0, kitchenWaitMs: 300, placedWaitMs: 7 });
  const { nodes, edges } = traceGraph(spans);
  const node = (service: string, name: string) => nodes.find((n) => n.service === service && n.name === name)!;
  const statuses = node('ituna-kitchen', 'send orders.status');
  assert.equal(
    statuses.count,
    spans.filter((s) => s.service === 'ituna-kitchen' && s.name === 'send orders.status').length,
  );
  assert.ok(statuses.count >= 2, 'cooking and ready fold into one node');
  assert.equal(nodes.length, new Set(spans.map((s) => `${s.service}|${s.name}`)).size);
  const hops = edges.filter((e) => e.kafka).map((e) => [e.kafka!.topic, e.kafka!.waitMs]);
  assert.deepEqual(
    hops.filter(([topic]) => topic !== 'orders.status'),
    [
      ['orders.placed', 7],
      ['kitchen.tickets', 300],
    ],
  );
  const ticketHop = edges.find((e) => e.kafka?.topic === 'kitchen.tickets')!;
  assert.equal(ticketHop.onPath, true);
  assert.equal(node('ituna-kitchen', 'process kitchen.tickets').onPath, true);
  assert.ok(node('ituna-gateway', 'process orders.status')?.follower ?? true);
  // Depth grows along the pipeline: the kitchen's process span is to the right of validation's.
  assert.ok(
    node('ituna-kitchen', 'process kitchen.tickets').depth >
      node('ituna-order-validation', 'process orders.placed').depth,
  );
  // Shares of the critical path never exceed the whole, and waits in Kafka are on edges, not nodes.
  const total = nodes.reduce((sum, n) => sum + n.pathShare, 0);
  assert.ok(total > 0.3 && total <= 1 + 1e-9, `${total}`);
});
