import assert from 'node:assert/strict';
import { it } from 'node:test';
import { heapGrowthWhileReading } from '../../../common/kafka/catch-up-heap.ts';

// What the heap does with these flags is measured where it shows: test/chaos/history-window.chaos.ts.
it('When followers read history, then V8 heap growth is tight from the first one in until the last one has caught up or stopped', async () => {
  const flags: string[] = [];
  const whileReading = heapGrowthWhileReading((set) => flags.push(set));
  const first = Promise.withResolvers<void>();
  const second = Promise.withResolvers<void>();
  whileReading(first.promise);
  whileReading(second.promise);
  assert.deepEqual(flags, ['--heap-growing-percent=30']);

  first.resolve();
  await first.promise;
  assert.deepEqual(flags, ['--heap-growing-percent=30'], 'one reader is still reading');

  second.reject(new Error('stopped before it caught up'));
  await second.promise.catch(() => {});
  assert.deepEqual(flags, ['--heap-growing-percent=30', '--heap-growing-percent=0']);

  // A reader that starts later (a settings follower, a rebalance) tightens it again for its own catch-up.
  const later = Promise.withResolvers<void>();
  whileReading(later.promise);
  later.resolve();
  await later.promise;
  assert.deepEqual(flags.slice(2), ['--heap-growing-percent=30', '--heap-growing-percent=0']);
});
