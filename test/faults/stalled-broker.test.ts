import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createKafka, ensureTopics } from '../../common/kafka/client.ts';
import { readTopic } from '../../common/kafka/follower.ts';
import { createIdempotentProducer } from '../../common/kafka/idempotent-producer.ts';
import { createPublisher } from '../../common/kafka/publish.ts';
import type { Outgoing } from '../../common/kafka/publish.ts';
import { createLogger } from '../../common/logger.ts';
import { startLocalBroker } from '../../tools/local-kafka/cluster.ts';
import type { LocalBroker } from '../../tools/local-kafka/cluster.ts';

// A broker of its own: these tests stall it (SIGSTOP) under a producer and under a consumer joining its group.
const topic = 'stalled-broker-test';
let broker: LocalBroker;

before(async () => {
  broker = await startLocalBroker();
});
after(() => broker.stop());

// Short timeouts, so that a request fails within seconds while the broker is stalled.
const patience = { requestTimeout: 1000, retry: { retries: 1, initialRetryTime: 100 } };

const message = (value: string): Outgoing => ({ topic, message: { key: 'one-partition', value, partition: 0 } });

// A produce request that times out while the broker is stalled is written once the broker goes on: the producer must
// not take it for a failure it can undo.
it('a message acknowledged after a send that timed out on a stalled broker is in the topic where Kafka said', async () => {
  const log = createLogger('stalled-broker-test', 'silent');
  const kafka = createKafka('stalled-broker-test', [broker.brokers], log, {}, patience);
  await ensureTopics(kafka, [{ name: topic, partitions: 1 }]);
  const producer = createIdempotentProducer(kafka, log);
  await producer.connect();
  try {
    const publish = createPublisher(producer, 'batched');
    const acknowledged = new Map<string, number>();
    const send = async (...values: string[]) => {
      const deliveries = await publish(values.map(message));
      for (const [i, value] of values.entries()) acknowledged.set(value, deliveries[i]!.offset);
    };
    await send('before');

    process.kill(broker.pid, 'SIGSTOP');
    try {
      await assert.rejects(publish([message('while stalled')]));
    } finally {
      process.kill(broker.pid, 'SIGCONT');
    }
    // The stalled request is written once the broker goes on.
    let written = await readTopic(kafka, topic);
    for (let i = 0; i < 50 && written.length < 2; i++) {
      await sleep(100);
      written = await readTopic(kafka, topic);
    }
    assert.deepEqual(
      written.map((m) => String(m.value)),
      ['before', 'while stalled'],
    );

    // One message, as many as the failed send: with kafkajs's numbers taken back, Kafka would answer the stalled
    // message's offset for it and write nothing. Then two, which would be refused (out of order) for good.
    await send('after');
    await send('after, first of two', 'after, second of two');

    written = await readTopic(kafka, topic);
    const atOffset = new Map(written.map((m) => [Number(m.offset), String(m.value)]));
    for (const [value, offset] of acknowledged)
      assert.equal(atOffset.get(offset), value, `"${value}" at offset ${offset}`);
    assert.equal(written.length, 5, 'every message in the topic once');
  } finally {
    await producer.disconnect();
  }
});

it('a consumer that was joining its group when the broker stalled consumes once the broker goes on', async () => {
  const log = createLogger('stalled-broker-test', 'silent');
  const kafka = createKafka('stalled-broker-join', [broker.brokers], log, {}, patience);
  const joining = 'stalled-broker-join';
  await ensureTopics(kafka, [{ name: joining, partitions: 1 }]);
  const consumer = kafka.consumer({ groupId: joining, maxWaitTimeInMs: 500 });
  const crashes: string[] = [];
  consumer.on(consumer.events.CRASH, ({ payload }) =>
    crashes.push(`${payload.error.name} (restart ${payload.restart})`),
  );
  const received: string[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [joining], fromBeginning: true });
    process.kill(broker.pid, 'SIGSTOP');
    try {
      await consumer.run({ eachMessage: async ({ message }) => void received.push(String(message.value)) });
      // The join's lookup of the group coordinator times out: kafkajs alone stopped the consumer for good here.
      for (let i = 0; i < 100 && crashes.length === 0; i++) await sleep(100);
    } finally {
      process.kill(broker.pid, 'SIGCONT');
    }
    assert.ok(crashes.length > 0, 'the stalled join failed');
    const producer = createIdempotentProducer(kafka, log);
    await producer.connect();
    await createPublisher(producer, 'single')([{ topic: joining, message: { key: 'k', value: 'after the stall' } }]);
    await producer.disconnect();
    for (let i = 0; i < 300 && received.length === 0; i++) await sleep(100);
    assert.deepEqual(received, ['after the stall'], `consumed after: ${crashes.join(', ')}`);
  } finally {
    await consumer.disconnect();
  }
});
