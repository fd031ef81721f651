import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalBroker } from '../../tools/local-kafka/cluster.ts';
import type { LocalBroker } from '../../tools/local-kafka/cluster.ts';

// The brokers of the `npm test` run, one for each test file that may run at a time (test/support/broker.ts hands
// them out), on free ports in temporary directories. ITUNA_TEST_BROKERS says how many (test/run.ts sets it).
// They start in the background: the files that run first (the longest) start brokers of their own. Each broker's
// address is written to the pool's folder once it is ready, or why it failed.
let starting: Array<Promise<LocalBroker | undefined>> = [];
let poolDir: string | undefined;

export async function globalSetup(): Promise<void> {
  if (process.env.ITUNA_TEST_KAFKA_POOL) return;
  const count = Math.max(1, Number(process.env.ITUNA_TEST_BROKERS ?? 1));
  const dir = await mkdtemp(join(tmpdir(), 'ituna-test-brokers-'));
  poolDir = dir;
  process.env.ITUNA_TEST_KAFKA_POOL = dir;
  starting = Array.from({ length: count }, (_, i) =>
    startLocalBroker().then(
      async (broker) => {
        // Renamed into place, so that a reader never sees half an address.
        await writeFile(join(dir, `broker-${i}.starting`), broker.brokers);
        await rename(join(dir, `broker-${i}.starting`), join(dir, `broker-${i}.address`));
        return broker;
      },
      (error: Error) => writeFile(join(dir, `broker-${i}.failed`), String(error.stack ?? error)).then(() => undefined),
    ),
  );
}

export async function globalTeardown(): Promise<void> {
  await Promise.all((await Promise.all(starting)).map((broker) => broker?.stop()));
  if (poolDir) await rm(poolDir, { recursive: true, force: true });
}
