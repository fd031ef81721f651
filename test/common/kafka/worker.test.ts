import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import pino from 'pino';
import Type from 'typebox';
import { createKafka, ensureTopics } from '../../../common/kafka/client.ts';
import { readTopic } from '../../../common/kafka/follower.ts';
import { deadLetterTopicOf, defineTopic } from '../../../common/topics/index.ts';
import { PermanentError, runWorker } from '../../../common/kafka/worker.ts';
import type { RunningWorker } from '../../../common/kafka/worker.ts';
import { testBrokers } from '../../support/broker.ts';

// The shared consumer loop on a topic of the test's own: retries, dead letters, and carrying on.
const topic = defineTopic({
  name: `test.worker.${randomUUID().slice(0, 8)}`,
  partitions: 1,
  schema: Type.Object({ id: Type.String(), failures: Type.Integer(), permanent: Type.Boolean() }),
  key: (v) => v.id,
});
const attempts = new Map<string, number>();
const handled: string[] = [];
let brokers: string[];
let worker: RunningWorker;

before(async () => {
  brokers = (await testBrokers()).split(',');
  const kafka = createKafka('worker-test', brokers, pino({ level: 'silent' }));
  await ensureTopics(kafka, [
    { name: topic.name, partitions: 1 },
    { name: deadLetterTopicOf(topic.name), partitions: 1 },
  ]);
  worker = await runWorker(
    {
      groupId: `worker-test-${randomUUID()}`,
      topic,
      concurrency: 1,
      retryDelaysMs: [50, 100, 200],
      baggageOf: (v) => ({ 'ituna.order.id': v.id }),
      logFieldsOf: (v) => ({ orderId: v.id }),
      handle: async (v) => {
        const n = (attempts.get(v.id) ?? 0) + 1;
        attempts.set(v.id, n);
        if (v.permanent) throw new PermanentError('out_of_rice', 'the kitchen has no rice');
        if (n <= v.failures) throw new Error(`transient failure ${n}`);
        handled.push(v.id);
      },
    },
    { kafka, log: pino({ level: 'silent' }) },
  );
});
after(() => worker?.stop());

it('When a handler fails now and then, then it is retried with backoff; when it keeps failing or fails for good, then the message is dead-lettered and the worker carries on', async () => {
  const producer = new Kafka({ clientId: 'worker-test-producer', brokers, logLevel: logLevel.NOTHING }).producer();
  await producer.connect();
  const send = (id: string, failures: number, permanent = false) => ({
    key: id,
    value: JSON.stringify({ id, failures, permanent }),
  });
  await producer.send({
    topic: topic.name,
    messages: [send('flaky', 2), send('broken', 10), send('no-rice', 0, true), send('fine', 0)],
  });
  await producer.disconnect();

  for (let i = 0; i < 100 && !handled.includes('fine'); i++) await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(
    handled,
    ['flaky', 'fine'],
    'the flaky message succeeded on its third try, and the worker went on after the failures',
  );
  assert.equal(attempts.get('flaky'), 3);
  assert.equal(attempts.get('broken'), 4, 'one try and three retries');
  assert.equal(attempts.get('no-rice'), 1, 'a permanent error is not retried');

  const letters = await readTopic(
    new Kafka({ clientId: 'worker-test-reader', brokers, logLevel: logLevel.NOTHING }),
    deadLetterTopicOf(topic.name),
  );
  const codes = Object.fromEntries(
    letters.map((m) => [m.key?.toString(), m.headers?.['ituna.dlq.error.code']?.toString()]),
  );
  assert.deepEqual(codes, { broken: 'handler_failed', 'no-rice': 'out_of_rice' });
});

/** A topic of the test's own, one partition (and its dead-letter topic), holding `{ id }` for ids 0 to `count` − 1. */
async function backlogTopic(kafka: ReturnType<typeof createKafka>, name: string, count: number) {
  const topic = defineTopic({
    name: `test.worker.${name}.${randomUUID().slice(0, 8)}`,
    partitions: 1,
    schema: Type.Object({ id: Type.Integer() }),
    key: (v) => String(v.id),
  });
  await ensureTopics(kafka, [
    { name: topic.name, partitions: 1 },
    { name: deadLetterTopicOf(topic.name), partitions: 1 },
  ]);
  const producer = new Kafka({
    clientId: `worker-test-${name}-producer`,
    brokers,
    logLevel: logLevel.NOTHING,
  }).producer();
  await producer.connect();
  try {
    await producer.send({
      topic: topic.name,
      messages: Array.from({ length: count }, (_, id) => ({ key: String(id), value: JSON.stringify({ id }) })),
    });
  } finally {
    await producer.disconnect();
  }
  return topic;
}

it('When a worker works through a backlog, then its committed offset follows the orders it finished within about a second, not at the end of the fetched batch', async () => {
  const kafka = createKafka('worker-test-backlog', brokers, pino({ level: 'silent' }));
  const backlog = await backlogTopic(kafka, 'backlog', 80);
  const groupId = `worker-test-backlog-${randomUUID()}`;

  // 80 messages of 50 ms each arrive in one fetch: 4 s of work before kafkajs would commit by itself.
  let finished = 0;
  const slow = await runWorker(
    {
      groupId,
      topic: backlog,
      concurrency: 1,
      baggageOf: () => ({}),
      logFieldsOf: () => ({}),
      handle: async () => {
        await new Promise((r) => setTimeout(r, 50));
        finished++;
      },
    },
    { kafka, log: pino({ level: 'silent' }) },
  );
  const admin = kafka.admin();
  await admin.connect();
  try {
    const committed = async () =>
      Number((await admin.fetchOffsets({ groupId, topics: [backlog.name] }))[0]!.partitions[0]!.offset);
    for (let i = 0; i < 100 && finished < 30; i++) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 1500));
    const [offset, done] = [await committed(), finished];
    assert.ok(done < 80, `the backlog should still be in progress (${done} finished)`);
    assert.ok(offset >= 30 && offset <= done, `committed offset ${offset} with ${done} messages finished`);
  } finally {
    await slow.stop();
    await admin.disconnect();
  }
});

it('When a fenced worker works through a backlog whose output is larger than one record batch, then its transactions split it and every message gets through once', async () => {
  const kafka = createKafka('worker-test-fenced', brokers, pino({ level: 'silent' }));
  const input = await backlogTopic(kafka, 'fenced', 24);
  const output = `${input.name}.out`;
  await ensureTopics(kafka, [{ name: output, partitions: 1 }]);

  // Each message's output is 300 KB: the ones staged while a transaction commits add up to more than the 1 MiB a
  // broker takes in one partition's record batch, as a validation worker's tickets do after a backlog of orders.
  const big = 'x'.repeat(300 * 1024);
  const groupId = `worker-test-fenced-${randomUUID()}`;
  const fenced = await runWorker(
    {
      groupId,
      topic: input,
      concurrency: 1,
      baggageOf: () => ({}),
      logFieldsOf: () => ({}),
      onPartitionClaimed: async () => {},
      handle: async (v, { commit }) => {
        void commit!([{ topic: output, message: { key: String(v.id), value: JSON.stringify({ id: v.id, big }) } }]);
      },
    },
    { kafka, log: pino({ level: 'silent' }), brokers },
  );
  const admin = kafka.admin();
  await admin.connect();
  try {
    const committed = async () =>
      Number((await admin.fetchOffsets({ groupId, topics: [input.name] }))[0]!.partitions[0]!.offset);
    for (let i = 0; i < 150 && (await committed()) < 24; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(await committed(), 24, 'the whole backlog committed within 15 s');
    const ids = (await readTopic(kafka, output)).map((m) => JSON.parse(m.value!.toString()).id as number);
    assert.deepEqual(
      ids.sort((a, b) => a - b),
      Array.from({ length: 24 }, (_, id) => id),
    );
  } finally {
    await fenced.stop();
    await admin.disconnect();
  }
});

it('When a fenced worker cannot claim its partition, then it says so, and the message is handled once the claim succeeds', async () => {
  const kafka = createKafka('worker-test-claim', brokers, pino({ level: 'silent' }));
  const input = await backlogTopic(kafka, 'claim', 1);
  const lines: Array<{ level: number; msg: string; partition?: number; offset?: string }> = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  const handledIds: number[] = [];
  let claims = 0;
  const worker = await runWorker(
    {
      groupId: `worker-test-claim-${randomUUID()}`,
      topic: input,
      concurrency: 1,
      baggageOf: () => ({}),
      logFieldsOf: () => ({}),
      // The first claim fails, as one does while a fresh broker's transaction coordinator is still loading.
      onPartitionClaimed: async () => {
        if (++claims === 1) throw new Error('the coordinator is loading');
      },
      handle: async (v, { commit }) => {
        handledIds.push(v.id);
        await commit!([]);
      },
    },
    { kafka, log, brokers },
  );
  try {
    for (let i = 0; i < 150 && handledIds.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(handledIds, [0], 'handled once, after the second claim');
    const warning = lines.find((l) => l.msg.startsWith('could not claim'));
    assert.ok(warning, `no warning among: ${lines.map((l) => l.msg).join(' | ')}`);
    assert.equal(warning.level, 40);
    assert.equal(warning.msg, `could not claim ${input.name}/0; the message will be read again`);
    assert.deepEqual([warning.partition, warning.offset], [0, '0']);
    assert.equal(claims, 2);
  } finally {
    await worker.stop();
  }
});
