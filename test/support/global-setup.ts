import { startLocalBroker } from '../../tools/local-kafka/cluster.ts';
import type { LocalBroker } from '../../tools/local-kafka/cluster.ts';

// One real broker for the whole `npm test` run, on free ports in a temporary directory.
let broker: LocalBroker | undefined;

export async function globalSetup(): Promise<void> {
  if (process.env.ITUNA_TEST_KAFKA_BROKERS) return;
  broker = await startLocalBroker();
  process.env.ITUNA_TEST_KAFKA_BROKERS = broker.brokers;
}

export async function globalTeardown(): Promise<void> {
  await broker?.stop();
}
