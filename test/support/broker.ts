import { startLocalBroker } from '../../tools/local-kafka/cluster.ts';

/** The test run's broker; a test file run on its own starts (and stops) a broker of its own. */
export async function testBrokers(): Promise<string> {
  const shared = process.env.ITUNA_TEST_KAFKA_BROKERS;
  if (shared) return shared;
  const broker = await startLocalBroker();
  // Stopped once this test file's work is done. Not with after(): called from a hook, that would stop it as soon as
  // the hook ends.
  broker.unref();
  process.once('beforeExit', () => void broker.stop());
  process.env.ITUNA_TEST_KAFKA_BROKERS = broker.brokers;
  return broker.brokers;
}
