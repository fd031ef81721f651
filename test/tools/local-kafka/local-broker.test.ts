import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { ensureTopics } from '../../../common/kafka/client.ts';
import { ensureKafkaJars, startLocalBroker } from '../../../tools/local-kafka/cluster.ts';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('the local Kafka broker', () => {
  it('When started with a persistent data dir, then a restart reuses its format and keeps its topics', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'ituna-broker-test-'));
    after(() => rm(dataDir, { recursive: true, force: true }));

    const first = await startLocalBroker({ dataDir });
    try {
      await ensureTopics(new Kafka({ brokers: [first.brokers], logLevel: logLevel.NOTHING }), [
        { name: 'kept', partitions: 3 },
      ]);
    } finally {
      await first.stop();
    }
    assert.equal(alive(first.pid), false, 'the broker process is gone after stop');

    const second = await startLocalBroker({ dataDir, port: first.port });
    try {
      const admin = new Kafka({ brokers: [second.brokers], logLevel: logLevel.NOTHING }).admin();
      await admin.connect();
      const [metadata] = (await admin.fetchTopicMetadata({ topics: ['kept'] })).topics;
      await admin.disconnect();
      assert.equal(metadata?.partitions.length, 3);
    } finally {
      await second.stop();
    }
  });

  it('When Java is not on PATH, then starting says what to install', async () => {
    await ensureKafkaJars();
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      await assert.rejects(startLocalBroker(), /needs Java 17 or newer .*apt-get install/);
    } finally {
      process.env.PATH = path;
    }
  });
});
