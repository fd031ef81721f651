import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, it } from 'node:test';
import pino from 'pino';
import type { Producer } from 'kafkajs';
import { createKafka, ensureTopics } from '../../../common/kafka/client.ts';
import { testBrokers } from '../../support/broker.ts';
import { commitTransaction } from '../../support/transactions.ts';

// A transactional producer as a worker's partition claim makes one, on topics of the test's own. That the coordinator
// is looked up again once it moved is `test/chaos/coordinator-moves.chaos.ts`, on a cluster of three.
const id = randomUUID().slice(0, 8);
const [input, output] = [`test.coordinators.in.${id}`, `test.coordinators.out.${id}`];
let producer: Producer;
const requests: string[] = [];

before(async () => {
  const kafka = createKafka('coordinator-cache-test', (await testBrokers()).split(','), pino({ level: 'silent' }));
  await ensureTopics(kafka, [
    { name: input, partitions: 1 },
    { name: output, partitions: 1 },
  ]);
  producer = kafka.producer({ transactionalId: `test.coordinators.${id}`, idempotent: true, maxInFlightRequests: 1 });
  producer.on(producer.events.REQUEST, ({ payload }) => void requests.push(payload.apiName));
  await producer.connect();
});

after(() => producer?.disconnect());

it('When a transactional producer commits transaction after transaction, then it looks up its coordinators once', async () => {
  const count = (api: string, from = 0) => requests.slice(from).filter((name) => name === api).length;
  let afterFirst = 0;
  for (let offset = 1; offset <= 5; offset++) {
    // A fresh broker may answer the first transaction "not available" while it creates its internal topics.
    await commitTransaction(
      producer,
      async (transaction) => {
        await transaction.send({ topic: output, messages: [{ key: 'k', value: String(offset) }] });
        await transaction.sendOffsets({
          consumerGroupId: `test.coordinators.${id}`,
          topics: [{ topic: input, partitions: [{ partition: 0, offset: String(offset) }] }],
        });
      },
      offset === 1 ? 30_000 : 0,
    );
    if (offset === 1) afterFirst = requests.length;
  }
  // The first transaction may be aborted and run again on a fresh broker (an EndTxn each time); the four after it
  // are tried once.
  assert.equal(count('EndTxn', afterFirst), 4, 'one EndTxn for each of the four transactions after the first');
  assert.ok(count('GroupCoordinator') >= 2, 'both coordinators were looked up with the first transaction');
  // kafkajs alone asks again before each of a transaction's four coordinator requests (19 lookups here when tried).
  assert.equal(count('GroupCoordinator', afterFirst), 0, 'lookups in the four transactions after the first');
});
