import assert from 'node:assert/strict';
import { it } from 'node:test';
import { comparisonSentence, compareTraces } from '../../../tools/traces/compare-traces.ts';
import { orderTrace } from '../../../tools/traces/synthetic-orders.ts';

it('When a slow order is compared with a quick one, then each stage shows both times and the difference, each side adds up to its critical path, and the wait in kitchen.tickets is named as the difference', () => {
  const quick = orderTrace({ startMs: 0, kitchenWaitMs: 20 });
  const slow = orderTrace({ startMs: 5000, kitchenWaitMs: 1320, inventoryMs: 40 });
  const comparison = compareTraces(quick, slow);
  const kitchenQueue = comparison.stages.find((s) => s.stage === 'queue kitchen.tickets')!;
  assert.equal(kitchenQueue.station, 'kitchen');
  assert.ok(Math.abs(kitchenQueue.aMs - 20) < 1e-6 && Math.abs(kitchenQueue.bMs - 1320) < 1e-6);
  assert.equal(comparison.decisive, kitchenQueue);
  assert.equal(comparison.stages[0], kitchenQueue, 'the largest difference first');
  for (const [side, column] of [
    [comparison.a, 'aMs'],
    [comparison.b, 'bMs'],
  ] as const) {
    const sum = comparison.stages.reduce((total, s) => total + s[column], 0);
    assert.ok(Math.abs(sum - side.path.totalMs) < 1e-6, `${column} adds up to the critical path`);
  }
  const sentence = comparisonSentence(comparison);
  assert.match(
    sentence,
    /^B took 1\.\d\d s longer than A \(1\.\d\d s against \d+\.\d ms\); most of the difference is queue kitchen\.tickets \(kitchen\): \+1\.30 s, 9\d% of it\.$/,
  );
  // The other way round, A is the slow one, and the stage's difference is negative.
  const reversed = compareTraces(slow, quick);
  assert.match(
    comparisonSentence(reversed),
    /^A took 1\.\d\d s longer than B .* queue kitchen\.tickets \(kitchen\): −1\.30 s/,
  );
});

it('When a trace is compared with itself, then nothing differs', () => {
  const trace = orderTrace({ startMs: 0 });
  const comparison = compareTraces(trace, trace);
  assert.equal(comparison.decisive, undefined);
  assert.ok(comparison.stages.every((s) => s.diffMs === 0));
  assert.match(comparisonSentence(comparison), /^A and B took as long/);
});
