import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { createKafka, ensureTopics } from '../../common/kafka/client.ts';
import { startLocalCluster } from '../../tools/local-kafka/cluster.ts';
import { commitTransaction } from '../support/transactions.ts';
import type { LocalCluster } from '../../tools/local-kafka/cluster.ts';

// A transactional producer, as a worker's partition claim makes, keeps the coordinators it found (kafkajs alone asks
// again before every request). Then its transaction coordinator moves to another node, the old one staying up.

let cluster: LocalCluster | undefined;

after(async () => {
  await cluster?.stop();
});

it('When the transaction coordinator moves to another node, then the next transaction finds it there and commits', async () => {
  cluster = await startLocalCluster({ nodes: 3 });
  const kafka = createKafka('coordinator-moves-test', cluster.brokers.split(','), pino({ level: 'silent' }));
  await ensureTopics(kafka, [
    { name: 'test.coordinator.in', partitions: 1 },
    { name: 'test.coordinator.out', partitions: 1 },
  ]);
  const producer = kafka.producer({
    transactionalId: 'test.coordinator.0',
    idempotent: true,
    maxInFlightRequests: 1,
    retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 20 },
  });
  const lookups: string[] = [];
  let committedBy = '';
  producer.on(producer.events.REQUEST, ({ payload }) => {
    if (payload.apiName === 'GroupCoordinator') lookups.push(payload.broker);
    if (payload.apiName === 'EndTxn') committedBy = payload.broker;
  });
  await producer.connect();
  let offset = 0;
  // As a worker's claim does, a transaction that failed for a reason Kafka calls retriable (a fresh cluster's
  // coordinators still loading, a coordinator gone) is aborted and tried again: `retryForMs`.
  const transaction = (retryForMs = 0) =>
    commitTransaction(
      producer,
      async (txn) => {
        await txn.send({ topic: 'test.coordinator.out', messages: [{ key: 'k', value: `v${offset}` }] });
        await txn.sendOffsets({
          consumerGroupId: 'test.coordinator.group',
          topics: [{ topic: 'test.coordinator.in', partitions: [{ partition: 0, offset: String(++offset) }] }],
        });
      },
      retryForMs,
    );

  await transaction(30_000);
  const lookupsFirst = lookups.length;
  for (let i = 0; i < 3; i++) await transaction();
  // Found with the first transaction, both coordinators stay known (kafkajs alone: four lookups a transaction).
  assert.equal(lookups.length - lookupsFirst, 0, 'lookups in the three transactions after the first');
  const lookupsBefore = lookups.length;
  const coordinator = cluster.nodes.find((node) => node.address === committedBy);
  assert.ok(coordinator, `the coordinator ${committedBy} is a node of the cluster`);

  // Every partition of the transactions' log moves to the two other nodes: the old node stays up and connected, but
  // is no longer the coordinator, and answers so (NOT_COORDINATOR).
  const others = cluster.nodes.filter((node) => node !== coordinator).map((node) => node.id);
  const admin = kafka.admin();
  await admin.connect();
  const { topics } = await admin.fetchTopicMetadata({ topics: ['__transaction_state'] });
  const partitions = topics[0]!.partitions.map((p) => p.partitionId);
  await admin.alterPartitionReassignments({
    topics: [
      {
        topic: '__transaction_state',
        partitionAssignment: partitions.map((partition) => ({ partition, replicas: others })),
      },
    ],
  });
  const deadline = performance.now() + 60_000;
  for (;;) {
    const { topics } = await admin.fetchTopicMetadata({ topics: ['__transaction_state'] });
    const moved = topics[0]!.partitions.every((p) => others.includes(p.leader) && !p.replicas.includes(coordinator.id));
    if (moved) break;
    assert.ok(performance.now() < deadline, 'the transactions still have a replica on the old node after 60 s');
    await sleep(250);
  }
  await admin.disconnect();

  // The producer must look for the coordinator again, not retry the old node.
  const began = performance.now();
  await transaction(30_000);
  const tookMs = performance.now() - began;
  assert.notEqual(committedBy, coordinator.address, 'committed through the new coordinator');
  assert.ok(lookups.length > lookupsBefore, 'the coordinator was looked up again');
  console.log(
    `coordinator ${coordinator.address} → ${committedBy}: the next transaction committed in ${tookMs.toFixed(0)} ms, ${lookups.length - lookupsBefore} lookups`,
  );
  await producer.disconnect();
});
