import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { it } from 'node:test';
import { retryingOffsets } from '../../../common/kafka/partition-claims.ts';

// The errors are kafkajs's own, built from Kafka's error codes as kafkajs builds them from a response: the retry
// must know them by the names kafkajs gives them.
const { createErrorFromCode } = createRequire(import.meta.url)('kafkajs/src/protocol/error.js') as {
  createErrorFromCode(code: number): Error & { type: string };
};
const COORDINATOR_LOAD_IN_PROGRESS = 14;
const COORDINATOR_NOT_AVAILABLE = 15;
const NOT_COORDINATOR = 16;
const CONCURRENT_TRANSACTIONS = 51;
const INVALID_PRODUCER_EPOCH = 47;

/** A sendOffsets that fails with `codes`, one per call, then succeeds; counts its calls. */
function failingWith(...codes: number[]) {
  const calls = { count: 0 };
  const sendOffsets = async () => {
    const code = codes[calls.count++];
    if (code !== undefined) throw createErrorFromCode(code);
    return 'committed';
  };
  return { calls, sendOffsets };
}

it("When a transaction's offsets meet a group coordinator that moved, is loading or is not available, or the last transaction's markers, then they are sent again until they are taken", async () => {
  const { calls, sendOffsets } = failingWith(
    NOT_COORDINATOR,
    COORDINATOR_LOAD_IN_PROGRESS,
    COORDINATOR_NOT_AVAILABLE,
    CONCURRENT_TRANSACTIONS,
  );
  assert.equal(await retryingOffsets(sendOffsets, 2000), 'committed');
  assert.equal(calls.count, 5);
});

it('When the producer was fenced, then the offsets are not sent again: the transaction fails at once', async () => {
  const { calls, sendOffsets } = failingWith(INVALID_PRODUCER_EPOCH);
  await assert.rejects(retryingOffsets(sendOffsets, 2000), { type: 'INVALID_PRODUCER_EPOCH' });
  assert.equal(calls.count, 1);
});

it('When the coordinator stays away, then the retries give up before their time is up', async () => {
  const { calls, sendOffsets } = failingWith(...Array<number>(100).fill(NOT_COORDINATOR));
  const began = performance.now();
  await assert.rejects(retryingOffsets(sendOffsets, 350), { type: 'NOT_COORDINATOR_FOR_GROUP' });
  const tookMs = performance.now() - began;
  assert.ok(tookMs < 350, `gave up after ${tookMs.toFixed(0)} ms`);
  // Three retries 100 ms apart fit in 350 ms; fewer if the machine is slow to wake the timers.
  assert.ok(calls.count >= 2 && calls.count <= 4, `${calls.count} calls`);
});
