import assert from 'node:assert/strict';
import { it } from 'node:test';
import { createLiveMonitor } from '../../../tools/traces/live-monitor.ts';
import { orderTrace } from '../../../tools/traces/synthetic-orders.ts';

it('When spans arrive, then each stage and queue gets 1 s buckets of count, errors and p50/p95/p99, for every run and for one run', () => {
  const monitor = createLiveMonitor();
  const second = Math.floor(Date.now() / 1000) - 20;
  // 10 orders ending in one second, 5 of run a; the kitchen's queue waits 10, 20, … 100 ms.
  for (let i = 0; i < 10; i++) {
    const spans = orderTrace({ startMs: second * 1000 - 400, runId: i < 5 ? 'a' : 'b', kitchenWaitMs: (i + 1) * 10 });
    // Every span ends in that second, as the buckets count by end.
    for (const span of spans) {
      span.endMs = second * 1000 + 500;
      span.durationMs = span.endMs - span.startMs;
    }
    if (i === 0) spans.find((s) => s.name === 'cook order')!.status = { code: 'error', message: 'burnt' };
    const process = spans.find((s) => s.name === 'process kitchen.tickets')!;
    process.attributes['ituna.queue.wait_ms'] = (i + 1) * 10;
    monitor.add(spans);
  }
  const all = monitor.snapshot();
  const [cook] = all.series['kitchen · cook order']!;
  assert.deepEqual([cook!.t, cook!.n, cook!.e], [second, 10, 1]);
  const [queue] = all.series['queue kitchen.tickets']!;
  assert.deepEqual([queue!.n, queue!.p50, queue!.p95, queue!.p99], [10, 50, 100, 100]);
  assert.ok(
    !Object.keys(all.series).some((k) => k.includes('process orders.status')),
    "the followers' spans are left out",
  );
  const runA = monitor.snapshot('a');
  assert.equal(runA.series['queue kitchen.tickets']![0]!.n, 5);
  assert.equal(runA.series['queue kitchen.tickets']![0]!.p99, 50);
  assert.deepEqual(monitor.runs(), ['a', 'b']);
  // The stream's updates carry only the last seconds.
  assert.equal(monitor.snapshot('', 15).series['queue kitchen.tickets'], undefined);
});

it('When spans are older than five minutes, then they are not kept; lag and the verdict are reported as given', () => {
  const monitor = createLiveMonitor();
  monitor.add(orderTrace({ startMs: Date.now() - 400_000 }));
  assert.deepEqual(monitor.snapshot().series, {});
  monitor.setLag(Date.now(), [{ groupId: 'ituna-kitchen', topic: 'kitchen.tickets', lag: 42 }]);
  monitor.setVerdict('', 'Bottleneck: kitchen — 80% of the orders’ critical path.');
  const snapshot = monitor.snapshot();
  assert.equal(snapshot.lag['ituna-kitchen on kitchen.tickets']![0]!.lag, 42);
  assert.match(snapshot.verdict!, /^Bottleneck: kitchen/);
  monitor.setLag(Date.now(), { reason: 'no answer within 4 s' });
  assert.equal(monitor.snapshot().lagNote, 'no answer within 4 s');
});
