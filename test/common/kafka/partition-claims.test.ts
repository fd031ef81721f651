import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka, Producer } from 'kafkajs';
import { ensureTopics } from '../../../common/kafka/client.ts';
import { readTopic } from '../../../common/kafka/follower.ts';
import { ClaimFailedError, createPartitionClaims } from '../../../common/kafka/partition-claims.ts';
import type { PartitionClaims } from '../../../common/kafka/partition-claims.ts';
import { createLogger } from '../../../common/logger.ts';
import { testKafka } from '../../support/broker.ts';
import { readCommitted } from '../../support/transactions.ts';

// The claims of a fenced worker against the test broker: what readers and the consumer group see of a partition's
// transactions, and the fence a second replica's claim puts up.
let kafka: Kafka;
let producer: Producer;
const running: PartitionClaims[] = [];
const log = createLogger('partition-claims-test', 'silent');

before(async () => {
  ({ kafka, producer } = await testKafka('partition-claims-test'));
});
after(async () => {
  await Promise.all([producer.disconnect(), ...running.map((claims) => claims.stop())]);
});

function claimsOf(groupId: string, topic: string): PartitionClaims {
  const claims = createPartitionClaims(kafka, { groupId, topic, onClaimed: async () => {}, log });
  running.push(claims);
  return claims;
}

const message = (output: string, value: string) => [{ topic: output, message: { key: 'order', value } }];

async function topics(partitions: number) {
  const input = `claims-in-${randomUUID()}`;
  const output = `claims-out-${randomUUID()}`;
  await ensureTopics(kafka, [
    { name: input, partitions },
    { name: output, partitions: 1 },
  ]);
  return { input, output };
}

it('When a partition commits many transactions back to back, then readers see its messages in order and the group resumes after the last', async () => {
  const { input, output } = await topics(1);
  const groupId = `claims-${randomUUID()}`;
  const claims = claimsOf(groupId, input);
  const transactions = 10;
  for (let offset = 0; offset < transactions; offset++)
    await claims.stage(0, String(offset), message(output, `work of offset ${offset}`));

  assert.deepEqual(
    await readCommitted(kafka, output, transactions),
    Array.from({ length: transactions }, (_, offset) => `work of offset ${offset}`),
  );
  const admin = kafka.admin();
  await admin.connect();
  const [committed] = await admin.fetchOffsets({ groupId, topics: [input] });
  await admin.disconnect();
  assert.deepEqual(committed!.partitions, [{ partition: 0, offset: String(transactions), metadata: null }]);
});

it('When work is staged to come after another send, then its transaction waits for that send, and fails with it', async () => {
  const { input, output } = await topics(2);
  const claims = claimsOf(`claims-${randomUUID()}`, input);
  const sent = Promise.withResolvers<void>();
  const committed = claims.stage(0, '0', message(output, 'after the send'), sent.promise);
  let done = false;
  void committed.then(() => (done = true));
  await sleep(200);
  assert.equal(done, false, 'committed before the send it comes after');
  sent.resolve();
  await committed;
  assert.deepEqual(await readCommitted(kafka, output, 1), ['after the send']);

  const failing = claims.stage(
    1,
    '0',
    message(output, 'after a failed send'),
    Promise.reject(new Error('not acknowledged')),
  );
  await assert.rejects(failing, ClaimFailedError);
  assert.equal(claims.rewindTo(1), 0, 'the partition is read again from the lost work');
  assert.equal((await readTopic(kafka, output)).length, 1, 'nothing of the failed transaction is committed');
});

it('When work is staged while a partition commits, then it shares the next transaction, begun a window after that commit', async () => {
  const { input, output } = await topics(1);
  const lingerMs = 20;
  // The claims' producer is made through `kafka.producer`: its requests are watched as it answers them.
  const answered: Array<{ api: string; sentAt: number; doneAt: number }> = [];
  const watched = Object.create(kafka) as Kafka;
  watched.producer = (config) => {
    const made = kafka.producer(config);
    made.on(made.events.REQUEST, ({ payload }) =>
      answered.push({ api: payload.apiName, sentAt: payload.sentAt, doneAt: payload.sentAt + payload.duration }),
    );
    return made;
  };
  const claims = createPartitionClaims(watched, {
    groupId: `claims-${randomUUID()}`,
    topic: input,
    onClaimed: async () => {},
    log,
    lingerMs,
  });
  running.push(claims);
  const first = claims.stage(0, '0', message(output, 'work of offset 0'));
  for (let i = 0; i < 1000 && !answered.some((r) => r.api === 'AddPartitionsToTxn'); i++) await sleep(5);
  const meanwhile = [1, 2, 3].map((offset) =>
    claims.stage(0, String(offset), message(output, `work of offset ${offset}`)),
  );
  await Promise.all([first, ...meanwhile]);

  const ends = answered.filter((r) => r.api === 'EndTxn');
  assert.equal(ends.length, 2, 'the three staged during the first transaction share the second');
  const next = answered.find((r) => r.api === 'AddPartitionsToTxn' && r.sentAt >= ends[0]!.doneAt);
  assert.ok(next, 'the second transaction added its partition');
  // Date.now() has millisecond steps: a millisecond of slack.
  assert.ok(
    next.sentAt - ends[0]!.doneAt >= lingerMs - 1,
    `began ${next.sentAt - ends[0]!.doneAt} ms after the commit`,
  );
  assert.deepEqual(
    await readCommitted(kafka, output, 4),
    [0, 1, 2, 3].map((offset) => `work of offset ${offset}`),
  );
});

it('When another replica claims its partitions, then the first can commit on none of them, and what it had committed stays', async () => {
  const { input, output } = await topics(2);
  const groupId = `claims-${randomUUID()}`;
  const first = claimsOf(groupId, input);
  await first.stage(0, '0', message(output, 'first replica, partition 0'));
  await first.stage(1, '0', message(output, 'first replica, partition 1'));
  await first.stage(1, '1', message(output, 'first replica, partition 1 again'));

  const second = claimsOf(groupId, input);
  await Promise.all([second.claim(0), second.claim(1)]);
  for (const partition of [0, 1])
    await assert.rejects(first.stage(partition, '2', message(output, 'fenced')), ClaimFailedError);
  await second.stage(0, '1', message(output, 'second replica, partition 0'));
  await second.stage(1, '2', message(output, 'second replica, partition 1'));

  assert.deepEqual((await readCommitted(kafka, output, 5)).sort(), [
    'first replica, partition 0',
    'first replica, partition 1',
    'first replica, partition 1 again',
    'second replica, partition 0',
    'second replica, partition 1',
  ]);
});
