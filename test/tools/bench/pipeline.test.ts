import assert from 'node:assert/strict';
import { it } from 'node:test';
import { keptUp } from '../../../tools/bench/pipeline.ts';

const orders = (n: number) => Array.from({ length: n }, (_, i) => i);

it('When nearly every arrival was accepted and every accepted order became ready, then the pipeline kept up', () => {
  assert.equal(keptUp({ sent: 1200, skipped: 0, accepted: orders(1200) }, 1200), true);
  assert.equal(keptUp({ sent: 1000, skipped: 0, accepted: orders(995) }, 995), true, '5 refused in 1 000');
});

it('When most orders were refused, as under a profiler past its rate, then it did not keep up', () => {
  assert.equal(keptUp({ sent: 3318, skipped: 0, accepted: orders(772) }, 772), false);
});

it('When the client skipped arrivals because the gateway was not answering, then it did not keep up', () => {
  assert.equal(keptUp({ sent: 5218, skipped: 782, accepted: orders(5218) }, 5218), false);
});

it('When an accepted order never became ready, then it did not keep up', () => {
  assert.equal(keptUp({ sent: 600, skipped: 0, accepted: orders(600) }, 599), false);
});
