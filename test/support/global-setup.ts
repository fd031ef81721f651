import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalBroker } from '../../tools/local-kafka/cluster.ts';
import type { LocalBroker } from '../../tools/local-kafka/cluster.ts';

// The brokers of the `npm test` run, one for each test file that may run at a time (test/support/broker.ts hands
// them out), on free ports in temporary directories. ITUNA_TEST_BROKERS says how many (test/run.ts sets it).
let brokers: LocalBroker[] = [];
let lockDir: string | undefined;

export async function globalSetup(): Promise<void> {
  if (process.env.ITUNA_TEST_KAFKA_POOL) return;
  const count = Math.max(1, Number(process.env.ITUNA_TEST_BROKERS ?? 1));
  brokers = await Promise.all(Array.from({ length: count }, () => startLocalBroker()));
  lockDir = await mkdtemp(join(tmpdir(), 'ituna-test-brokers-'));
  process.env.ITUNA_TEST_KAFKA_POOL = brokers.map((b) => b.brokers).join(' ');
  process.env.ITUNA_TEST_KAFKA_POOL_LOCKS = lockDir;
}

export async function globalTeardown(): Promise<void> {
  await Promise.all(brokers.map((b) => b.stop()));
  if (lockDir) await rm(lockDir, { recursive: true, force: true });
}
