import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, it } from 'node:test';
import type { Kafka, Producer } from 'kafkajs';
import { ensureTopics } from '../../../common/kafka/client.ts';
import { testKafka } from '../../support/broker.ts';
import { hasKcat, readTopicWithKcat } from '../../support/kcat.ts';
import { readCommitted } from '../../support/transactions.ts';

// What a broker failure leaves in a partition: transactions of several producers open at once, aborted later in
// another order than they began (a new owner's claim, or the transaction timeout, aborts each). A reader of committed
// messages must see none of them. The broker lists a fetch's aborted transactions in the order they ended.
let kafka: Kafka;
let brokers: string;
let producer: Producer;
const transactional: Producer[] = [];

before(async () => {
  ({ kafka, brokers, producer } = await testKafka('aborted-transactions-test'));
});
after(async () => {
  await Promise.all([producer, ...transactional].map((p) => p.disconnect()));
});

async function transactionalProducer(): Promise<Producer> {
  const p = kafka.producer({
    transactionalId: `aborted-test-${randomUUID()}`,
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await p.connect();
  transactional.push(p);
  return p;
}

it('When transactions that overlap are aborted in another order than they began, then a reader of committed messages sees none of their messages', async () => {
  const topic = `aborted-${randomUUID()}`;
  await ensureTopics(kafka, [{ name: topic, partitions: 1 }]);
  const [first, second, third] = await Promise.all([
    transactionalProducer(),
    transactionalProducer(),
    transactionalProducer(),
  ]);
  const firstTx = await first.transaction();
  await firstTx.send({ topic, messages: [{ key: 'aborted', value: 'first, aborted last' }] });
  const secondTx = await second.transaction();
  await secondTx.send({ topic, messages: [{ key: 'aborted', value: 'second, aborted first' }] });
  const thirdTx = await third.transaction();
  await thirdTx.send({ topic, messages: [{ key: 'committed', value: 'third, committed' }] });
  await firstTx.send({ topic, messages: [{ key: 'aborted', value: 'first again' }] });
  await secondTx.abort();
  await thirdTx.commit();
  await firstTx.abort();
  await producer.send({ topic, acks: -1, messages: [{ key: 'committed', value: 'outside any transaction' }] });

  assert.deepEqual(await readCommitted(kafka, topic, 2), ['third, committed', 'outside any transaction']);
  if (await hasKcat())
    assert.deepEqual(
      (await readTopicWithKcat(brokers, topic)).map((m) => m.value),
      ['third, committed', 'outside any transaction'],
      'kcat, an independent client, reads the same',
    );
});
