import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka, Producer, Transaction } from 'kafkajs';
import { readTopic } from '../../common/kafka/follower.ts';

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

/**
 * The values of `topic`, read again every 100 ms (for up to 10 s) until there are at least `count`: the coordinator
 * writes a transaction's markers after its commit returns, and until then a reader stops short of the transaction.
 */
export async function readCommitted(kafka: Kafka, topic: string, count: number): Promise<Array<string | undefined>> {
  let values: Array<string | undefined> = [];
  for (const deadline = Date.now() + 10_000; values.length < count && Date.now() < deadline; await sleep(100))
    values = (await readTopic(kafka, topic)).map((m) => m.value?.toString());
  return values;
}
