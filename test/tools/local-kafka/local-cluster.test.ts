import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel } from 'kafkajs';
import { createKafka, createProducer, ensureTopics } from '../../../common/kafka/client.ts';
import { createLogger } from '../../../common/logger.ts';
import { readTopic } from '../../../common/kafka/follower.ts';
import { createPublisher } from '../../../common/kafka/publish.ts';
import { ALL_TOPICS, ordersPlaced } from '../../../common/topics/index.ts';
import { startLocalCluster } from '../../../tools/local-kafka/cluster.ts';
import type { LocalCluster } from '../../../tools/local-kafka/cluster.ts';

describe('a local three-node cluster', () => {
  let cluster: LocalCluster;
  let kafka: Kafka;
  before(async () => {
    cluster = await startLocalCluster({ nodes: 3 });
    kafka = new Kafka({ clientId: 'cluster-test', brokers: cluster.brokers.split(','), logLevel: logLevel.NOTHING });
  });
  after(() => cluster?.stop());

  it('When started, then three brokers with their own ports and data dirs form one cluster', async () => {
    assert.match(cluster.brokers, /^127\.0\.0\.1:\d+,127\.0\.0\.1:\d+,127\.0\.0\.1:\d+$/);
    assert.equal(new Set(cluster.nodes.map((n) => n.port)).size, 3);
    const admin = kafka.admin();
    await admin.connect();
    try {
      const { brokers } = await admin.describeCluster();
      assert.deepEqual(brokers.map((b) => b.nodeId).sort(), [1, 2, 3]);
    } finally {
      await admin.disconnect();
    }
  });

  it('When the services create their topics on it, then each partition has three replicas and min.insync.replicas is 2', async () => {
    await ensureTopics(kafka, ALL_TOPICS);
    const admin = kafka.admin();
    await admin.connect();
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: ALL_TOPICS.map((t) => t.name) });
      for (const topic of topics) {
        for (const partition of topic.partitions)
          assert.equal(partition.replicas.length, 3, `${topic.name}/${partition.partitionId} replicas`);
      }
      const { resources } = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [
          {
            type: 2 /* topic (kafkajs exports ConfigResourceTypes from CommonJS only) */,
            name: ordersPlaced.name,
            configNames: ['min.insync.replicas'],
          },
        ],
      });
      assert.equal(resources[0]!.configEntries.find((e) => e.configName === 'min.insync.replicas')?.configValue, '2');
    } finally {
      await admin.disconnect();
    }
  });

  // Last: it kills a node. kafkajs 2.2 answers a batch without sending the messages of a partition whose new leader
  // already answered an earlier attempt of the same batch; the publisher must notice and send them.
  it('When a broker dies under a send and its partition moves to a broker that already took the rest of the batch, then every message of the batch is written', async () => {
    const topic = 'leader-move';
    const admin = kafka.admin();
    await admin.connect();
    try {
      // Partition 0 is led by node 1; partition 1 by node 2, with node 1 as its only other replica.
      await admin.createTopics({
        waitForLeaders: false,
        topics: [
          {
            topic,
            replicaAssignment: [
              { partition: 0, replicas: [1, 3] },
              { partition: 1, replicas: [2, 1] },
            ],
            configEntries: [{ name: 'min.insync.replicas', value: '1' }],
          },
        ],
      });
      const leadersOf = async () =>
        (await admin.fetchTopicMetadata({ topics: [topic] }).catch(() => undefined))?.topics[0]?.partitions
          .sort((a, b) => a.partitionId - b.partitionId)
          .map((p) => p.leader)
          .join(',');
      let leaders = await leadersOf();
      for (let i = 0; i < 100 && leaders !== '1,2'; i++) {
        await sleep(100);
        leaders = await leadersOf();
      }
      assert.equal(leaders, '1,2', 'partition leaders');
    } finally {
      await admin.disconnect();
    }
    // The first attempt's request to partition 1 reaches node 2, which is frozen: node 1 answers for partition 0, and
    // the request to node 2 fails only when node 2 dies — after the controller has moved partition 1 to node 1.
    const producer = createProducer(
      createKafka('leader-move-test', cluster.brokers.split(','), createLogger('leader-move-test', 'silent')),
    );
    await producer.connect();
    const frozen = cluster.nodes.find((n) => n.id === 2)!;
    // It may still pick the frozen node for a request (it knows every broker from metadata): such a request fails fast.
    const others = new Kafka({
      clientId: 'leader-move-admin',
      brokers: cluster.nodes.filter((n) => n !== frozen).map((n) => n.address),
      logLevel: logLevel.NOTHING,
      requestTimeout: 1000,
    });
    const othersAdmin = others.admin();
    await othersAdmin.connect();
    try {
      const publish = createPublisher(producer, 'batched');
      const message = (partition: number, value: string) => ({ topic, message: { key: value, value, partition } });
      await publish([message(0, 'before-0'), message(1, 'before-1')]);
      process.kill(frozen.pid, 'SIGSTOP');
      const sending = publish([message(0, 'after-0'), message(1, 'after-1')]);
      const leaderOfPartition1 = async () =>
        (await othersAdmin.fetchTopicMetadata({ topics: [topic] }).catch(() => undefined))?.topics[0]?.partitions.find(
          (p) => p.partitionId === 1,
        )?.leader;
      for (let i = 0; i < 150 && (await leaderOfPartition1()) !== 1; i++) await sleep(100);
      await frozen.kill('SIGKILL');
      await sending;
      const written = (await readTopic(others, topic)).map((m) => `${m.partition}:${m.value}`).sort();
      assert.deepEqual(written, ['0:after-0', '0:before-0', '1:after-1', '1:before-1']);
    } finally {
      await frozen.kill('SIGKILL');
      await othersAdmin.disconnect();
      await producer.disconnect();
    }
  });
});
