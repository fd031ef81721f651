import { setTimeout as sleep } from 'node:timers/promises';
import type { Producer, Transaction } from 'kafkajs';

/**
 * Runs `work` in a transaction of `producer` and commits it. A transaction that fails for a reason Kafka calls
 * retriable (a fresh broker's coordinators still loading, a coordinator that moved) is aborted and run again, as a
 * worker's partition claim is, for up to `retryForMs`; 0 tries once.
 */
export async function commitTransaction(
  producer: Producer,
  work: (transaction: Transaction) => Promise<void>,
  retryForMs = 0,
): Promise<void> {
  const deadline = performance.now() + retryForMs;
  for (;;) {
    const transaction = await producer.transaction();
    try {
      await work(transaction);
      return await transaction.commit();
    } catch (error) {
      await transaction.abort().catch(() => {});
      if (!(error as { retriable?: boolean }).retriable || performance.now() > deadline) throw error;
      await sleep(200);
    }
  }
}
