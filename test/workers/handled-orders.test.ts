import assert from 'node:assert/strict';
import { it } from 'node:test';
import { handledRecord } from '../../workers/handled-orders.ts';

const deferred = () => {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
};

it('When an order is delivered again while its work is still being committed, then the answer waits for the commit: handled if it holds, not if it fails', async () => {
  const record = handledRecord(100);
  const [holds, fails] = [deferred(), deferred()];
  record.add('a', holds.promise);
  record.add('b', fails.promise);
  const [a, b] = [record.has('a'), record.has('b')];
  assert.ok(a instanceof Promise && b instanceof Promise, 'no answer before the commits end');
  holds.resolve();
  fails.reject(new Error('the broker went away'));
  assert.deepEqual(await Promise.all([a, b]), [true, false]);
  assert.equal(record.has('a'), true);
  assert.equal(record.has('b'), false, 'a failed commit takes the order back: it will be handled again');
  record.add('c');
  assert.equal(record.has('c'), true, 'known from orders.status: no commit to wait for');
});

it('When more orders were handled than the record keeps, then the oldest are forgotten first', () => {
  const record = handledRecord(3);
  for (const id of ['1', '2', '3', '4']) record.add(id);
  assert.deepEqual(
    ['1', '2', '3', '4'].map((id) => record.has(id)),
    [false, true, true, true],
  );
  assert.equal(record.size, 3);
});
