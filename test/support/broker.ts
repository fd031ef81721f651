import { closeSync, openSync, readFileSync, readdirSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel } from 'kafkajs';
import type { Producer } from 'kafkajs';
import { createProducer, ensureTopics } from '../../common/kafka/client.ts';
import { ALL_TOPICS } from '../../common/topics/index.ts';
import { startLocalBroker } from '../../tools/local-kafka/cluster.ts';

// `npm test` starts a pool of brokers once (test/support/global-setup.ts), one per test file that may run at a time:
// the pipeline's topics and consumer groups have fixed names, so two files running the services at once need brokers
// of their own. A file takes a free broker for as long as it runs, marked by a lock file in the pool's folder.

let taken: string | undefined;

/** Claims a broker of the pool (a folder of `broker-N.address` files) until this process exits; waits while none is free. */
async function claimFromPool(poolDir: string): Promise<string> {
  for (let attempt = 0; attempt < 6000; attempt++) {
    const files = readdirSync(poolDir);
    const failed = files.find((f) => f.endsWith('.failed'));
    if (failed)
      throw new Error(`a broker of the test pool did not start:\n${readFileSync(join(poolDir, failed), 'utf8')}`);
    for (const file of files.filter((f) => f.endsWith('.address'))) {
      const lock = join(poolDir, file.replace(/\.address$/, '.lock'));
      let fd: number;
      try {
        fd = openSync(lock, 'wx');
      } catch {
        continue;
      }
      writeSync(fd, String(process.pid));
      closeSync(fd);
      process.once('exit', () => unlinkSync(lock));
      return readFileSync(join(poolDir, file), 'utf8');
    }
    await sleep(100);
  }
  throw new Error(`no broker of the test pool was free for 10 minutes (${poolDir})`);
}

/** The broker this test file uses; a file run on its own starts (and stops) a broker of its own. */
export async function testBrokers(): Promise<string> {
  if (taken) return taken;
  const pool = process.env.ITUNA_TEST_KAFKA_POOL;
  if (pool) {
    taken = await claimFromPool(pool);
    return taken;
  }
  const broker = await startLocalBroker();
  // Stopped once this test file's work is done. Not with after(): called from a hook, that would stop it as soon as
  // the hook ends.
  broker.unref();
  process.once('beforeExit', () => void broker.stop());
  taken = broker.brokers;
  return taken;
}

/** What most Kafka tests need: the broker, a client, the pipeline's topics and a connected producer. */
export interface TestKafka {
  brokers: string;
  kafka: Kafka;
  producer: Producer;
}

/**
 * The test file's broker with the pipeline's topics created, a kafkajs client named `clientId` and a connected
 * idempotent producer (the caller disconnects it in its `after` hook).
 */
export async function testKafka(clientId: string): Promise<TestKafka> {
  const brokers = await testBrokers();
  const kafka = new Kafka({ clientId, brokers: brokers.split(','), logLevel: logLevel.NOTHING });
  await ensureTopics(kafka, ALL_TOPICS);
  const producer = createProducer(kafka);
  await producer.connect();
  return { brokers, kafka, producer };
}
