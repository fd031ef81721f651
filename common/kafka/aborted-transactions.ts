import { createRequire } from 'node:module';
// Before the fetch modules below load kafkajs's record batch decoder, which takes its record decoder when it loads.
import './record-decoding.ts';

/** A record as kafkajs decodes it from a fetch response (not in its public types). */
export interface FetchedRecord {
  offset: string;
  key: Buffer | null;
  isControlRecord?: boolean;
  batchContext?: { producerId: string; inTransaction: boolean };
}

/** A partition of a fetch response as kafkajs decodes it. */
export interface FetchedPartition {
  abortedTransactions?: Array<{ producerId: string; firstOffset: string }>;
  messages: FetchedRecord[];
}

// A control record's key is its version and type, two int16s; type 0 is an abort marker.
const ABORT_MARKER = Buffer.from([0, 0, 0, 0]);

/**
 * Hides the records of aborted transactions from a reader of committed messages, as the Java consumer does: a
 * producer's records are aborted from the first offset of each of its aborted transactions up to its abort marker.
 * The broker lists a fetch's aborted transactions in the order they ended, not the order they began, and several may
 * have begun before the first record fetched. kafkajs 2.2.4 takes them in the listed order, one per record, so a
 * partition where overlapping transactions were aborted in another order (a broker failure, then each claim or
 * timeout aborting one) hands over aborted records. Each is marked as kafkajs marks a control record: skipped, its
 * offset still passed. The list is emptied, so kafkajs's own filter has nothing left to do.
 */
export function hideAbortedRecords(partition: FetchedPartition): void {
  if (!partition.abortedTransactions?.length) return;
  const aborted = partition.abortedTransactions
    .map(({ producerId, firstOffset }) => ({ producerId, firstOffset: BigInt(firstOffset) }))
    .sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : 1));
  partition.abortedTransactions = [];
  const abortedProducers = new Set<string>();
  let next = 0;
  for (const record of partition.messages) {
    const offset = BigInt(record.offset);
    while (next < aborted.length && aborted[next]!.firstOffset <= offset)
      abortedProducers.add(aborted[next++]!.producerId);
    const batch = record.batchContext;
    if (!batch?.inTransaction) continue;
    if (record.isControlRecord) {
      if (record.key && ABORT_MARKER.equals(record.key)) abortedProducers.delete(batch.producerId);
    } else if (abortedProducers.has(batch.producerId)) {
      record.isControlRecord = true;
    }
  }
}

// Every fetch version that lists aborted transactions (4 and later) decodes through its module's `decode`, which
// kafkajs looks up on each response: wrapped here, before any fetch of this process.
const require = createRequire(import.meta.url);
for (let version = 4; version <= 11; version++) {
  const response = require(`kafkajs/src/protocol/requests/fetch/v${version}/response.js`) as {
    decode(raw: Buffer): Promise<{ responses: Array<{ partitions: FetchedPartition[] }> }>;
  };
  const decode = response.decode;
  response.decode = async (raw) => {
    const decoded = await decode(raw);
    for (const topic of decoded.responses) for (const partition of topic.partitions) hideAbortedRecords(partition);
    return decoded;
  };
}
