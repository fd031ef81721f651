import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { it } from 'node:test';
import { handledRecord } from '../../workers/handled-orders.ts';
import { retainedMb } from '../support/memory.ts';

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
  const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
  const [holds, fails] = [deferred(), deferred()];
  record.add(a, holds.promise);
  record.add(b, fails.promise);
  const [hasA, hasB] = [record.has(a), record.has(b)];
  assert.ok(hasA instanceof Promise && hasB instanceof Promise, 'no answer before the commits end');
  holds.resolve();
  fails.reject(new Error('the broker went away'));
  assert.deepEqual(await Promise.all([hasA, hasB]), [true, false]);
  assert.equal(record.has(a), true);
  assert.equal(record.has(b), false, 'a failed commit takes the order back: it will be handled again');
  record.add(c);
  assert.equal(record.has(c), true, 'known from orders.status: no commit to wait for');
  assert.equal(record.size, 2);
});

it('When more orders were handled than the record keeps, then the oldest are forgotten first', () => {
  const record = handledRecord(3);
  const ids = Array.from({ length: 5 }, () => randomUUID());
  for (const id of ids.slice(0, 4)) record.add(id);
  record.add(ids[1]!); // handled again: it keeps its place
  record.add(ids[4]!);
  assert.deepEqual(
    ids.map((id) => record.has(id)),
    [false, false, true, true, true],
  );
  assert.equal(record.size, 3);
  assert.equal(record.has(ids[2]!.toUpperCase()), true, 'an id in capitals is the same order');
});

it('When it holds 100 000 orders, then it takes under 4 MB', async () => {
  // A Set of the id strings took about 10 MB: what a worker keeps at start with a full history window.
  const { mb, size } = await retainedMb(new URL('../support/full-records.ts', import.meta.url), 'fullHandledRecord');
  assert.equal(size, 100_000);
  console.log(`handled orders: 100 000 orders in ${mb.toFixed(1)} MB`);
  assert.ok(mb > 0 && mb < 4, `100 000 orders took ${mb.toFixed(1)} MB`);
});
