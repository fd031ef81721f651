import assert from 'node:assert/strict';
import { it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { RequestQueue } from '../../../common/kafka/idle-timer.ts';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const request = (correlationId: number, resolve: () => void, reject = (_error: Error) => {}) => ({
  entry: { correlationId, apiName: 'Fetch', apiKey: 1, apiVersion: 11, resolve, reject },
  expectResponse: true,
  sendRequest() {},
});

/** A connection's queue with one request in flight at a time, seen through the members a test drives. */
const queueWith = <Members>(options: { requestTimeout: number; enforceRequestTimeout: boolean }) =>
  new RequestQueue({
    maxInFlightRequests: 1,
    clientId: 'idle-timer-test',
    broker: '127.0.0.1:9',
    logger: quiet,
    ...options,
  }) as unknown as Members;

it('When a connection has answered everything it was asked, then its request queue arms no timer', async () => {
  // One request in flight at a time, so the second waits in the queue, as a throttled or busy connection's would.
  const queue = queueWith<{
    push(r: ReturnType<typeof request>): void;
    fulfillRequest(response: { correlationId: number; payload: Buffer; size: number }): void;
    throttleCheckTimeoutId: NodeJS.Timeout | null;
    pending: unknown[];
  }>({ requestTimeout: 30_000, enforceRequestTimeout: false });
  const answered: number[] = [];
  queue.push(request(1, () => answered.push(1)));
  queue.push(request(2, () => answered.push(2)));
  assert.equal(queue.pending.length, 1);
  assert.notEqual(queue.throttleCheckTimeoutId, null, 'a waiting request keeps a timer');

  queue.fulfillRequest({ correlationId: 1, payload: Buffer.alloc(0), size: 0 });
  queue.fulfillRequest({ correlationId: 2, payload: Buffer.alloc(0), size: 0 });
  assert.deepEqual(answered, [1, 2]);
  // The timer armed for the waiting request fires once (10 ms) and finds nothing to do; unpatched, it re-arms every
  // millisecond from then on.
  await sleep(30);
  assert.equal(queue.throttleCheckTimeoutId, null, 'a timer is still armed with nothing queued');
});

it('When a request outlives its timeout, then it still fails with a timeout, looked for every tenth of the timeout', async () => {
  const queue = queueWith<{
    push(r: ReturnType<typeof request> & { requestTimeout: number }): void;
    scheduleRequestTimeoutCheck(): void;
    destroy(): void;
  }>({ requestTimeout: 200, enforceRequestTimeout: true });
  queue.scheduleRequestTimeoutCheck();
  const sent = performance.now();
  const failed = new Promise<[Error, number]>((resolve) =>
    queue.push({
      ...request(
        1,
        () => {},
        (error) => resolve([error, performance.now() - sent]),
      ),
      requestTimeout: 200,
    }),
  );
  const [error, ms] = await failed;
  queue.destroy();
  assert.match(error.name, /Timeout/);
  assert.ok(ms >= 200 && ms < 1000, `timed out after ${ms.toFixed(0)} ms`);
});
