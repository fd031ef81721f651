import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { ensureTopics } from '../../common/kafka/client.ts';
import { ALL_TOPICS, ordersPlaced } from '../../common/topics/index.ts';
import { startLocalCluster } from '../../kafka/local-broker.ts';
import type { LocalCluster } from '../../kafka/local-broker.ts';

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
        for (const partition of topic.partitions) assert.equal(partition.replicas.length, 3, `${topic.name}/${partition.partitionId} replicas`);
      }
      const { resources } = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: 2 /* topic (kafkajs exports ConfigResourceTypes from CommonJS only) */, name: ordersPlaced.name, configNames: ['min.insync.replicas'] }],
      });
      assert.equal(resources[0]!.configEntries.find((e) => e.configName === 'min.insync.replicas')?.configValue, '2');
    } finally {
      await admin.disconnect();
    }
  });
});
