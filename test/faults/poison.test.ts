import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka } from 'kafkajs';
import type { Producer } from 'kafkajs';
import { deadLetterTopicOf, ordersPlaced, ordersStatus } from '../../common/topics/index.ts';
import { readDeadLetters, replayDeadLetters } from '../../tools/dlq/main.ts';
import { spawnService } from '../../tools/start/spawn-service.ts';
import type { ServiceProcess } from '../../tools/start/spawn-service.ts';
import { testKafka } from '../support/broker.ts';
import { onsiteOrder } from '../support/fixtures.ts';

let brokers: string;
let kafka: Kafka;
let producer: Producer;
let validation: ServiceProcess;

const validOrder = (orderId: string) => ({
  orderId,
  channel: 'onsite' as const,
  placedAt: new Date().toISOString(),
  ...onsiteOrder,
});

/** Waits until orders.status has a status for `orderId`, read by a plain consumer. */
async function statusOf(orderId: string, timeoutMs = 20_000): Promise<string> {
  const consumer = kafka.consumer({ groupId: `poison-test-${randomUUID()}` });
  await consumer.connect();
  await consumer.subscribe({ topic: ordersStatus.name, fromBeginning: true });
  try {
    return await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no status for ${orderId}`)), timeoutMs);
      void consumer.run({
        eachMessage: async ({ message }) => {
          if (message.key?.toString() !== orderId) return;
          const { status } = ordersStatus.decode(message.value);
          if (status !== 'accepted') {
            clearTimeout(timer);
            resolve(status);
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
}

before(async () => {
  ({ brokers, kafka, producer } = await testKafka('poison-test'));
  validation = spawnService('validation', {
    KAFKA_BROKERS: brokers,
    OTEL_SDK_DISABLED: 'true',
    ITUNA_DELAYS: 'address=1',
  });
  await validation.ready;
});
after(async () => {
  await producer?.disconnect();
  assert.equal(await validation?.stop(), 0);
});

it('When poison messages arrive between good ones, then each goes to the dead-letter topic with its bytes, headers, origin and error, and the worker carries on', async () => {
  const before = (await readDeadLetters({ brokers: brokers.split(',') }, ordersPlaced.name)).length;
  const garbledKey = randomUUID();
  const invalidKey = randomUUID();
  const goodId = randomUUID();
  const garbled = Buffer.from([0xff, 0x00, 0x7b, 0x22]);
  await producer.send({
    topic: ordersPlaced.name,
    acks: -1,
    messages: [
      { key: garbledKey, value: garbled, headers: { 'x-origin': 'poison-test' } },
      { key: invalidKey, value: JSON.stringify({ ...validOrder(invalidKey), items: [] }) },
      { key: goodId, value: JSON.stringify(validOrder(goodId)) },
    ],
  });
  assert.equal(await statusOf(goodId), 'validated', 'the good order after the poison is still validated');

  let letters = await readDeadLetters({ brokers: brokers.split(',') }, ordersPlaced.name);
  for (let i = 0; letters.length < before + 2 && i < 50; i++) {
    await sleep(100);
    letters = await readDeadLetters({ brokers: brokers.split(',') }, ordersPlaced.name);
  }
  const garbledLetter = letters.find((l) => l.key === garbledKey)!;
  assert.ok(garbledLetter, `no dead letter for the garbled message in ${deadLetterTopicOf(ordersPlaced.name)}`);
  assert.deepEqual(garbledLetter.value, garbled, 'original bytes kept');
  assert.equal(garbledLetter.headers['x-origin']?.toString(), 'poison-test', 'original headers kept');
  assert.equal(garbledLetter.error.code, 'invalid_json');
  assert.equal(garbledLetter.source.topic, 'orders.placed');
  assert.match(garbledLetter.source.offset ?? '', /^\d+$/);
  assert.match(garbledLetter.source.partition ?? '', /^\d+$/);
  const invalidLetter = letters.find((l) => l.key === invalidKey)!;
  assert.equal(invalidLetter.error.code, 'schema_mismatch');
  assert.match(invalidLetter.error.message ?? '', /\/items/);
});

it('When an operator replays a dead letter that is valid now, then it is processed like any order', async () => {
  const orderId = randomUUID();
  // A valid order that an earlier failure dead-lettered, as the worker would have written it.
  await producer.send({
    topic: deadLetterTopicOf(ordersPlaced.name),
    acks: -1,
    messages: [
      {
        key: orderId,
        value: JSON.stringify(validOrder(orderId)),
        headers: {
          'content-type': 'application/json',
          'ituna.dlq.error.code': 'handler_failed',
          'ituna.dlq.source.topic': 'orders.placed',
        },
      },
    ],
  });
  const letter = (await readDeadLetters({ brokers: brokers.split(',') }, ordersPlaced.name)).find(
    (l) => l.key === orderId,
  )!;
  assert.equal(await replayDeadLetters({ brokers: brokers.split(',') }, ordersPlaced.name, [letter.offset]), 1);
  assert.equal(await statusOf(orderId), 'validated');
});
