import assert from 'node:assert/strict';
import { it } from 'node:test';
import { hideAbortedRecords } from '../../../common/kafka/aborted-transactions.ts';
import type { FetchedPartition, FetchedRecord } from '../../../common/kafka/aborted-transactions.ts';

const record = (offset: number, producerId: string, kind: 'data' | 'abort' | 'commit' | 'plain' = 'data') =>
  ({
    offset: String(offset),
    key: kind === 'abort' ? Buffer.from([0, 0, 0, 0]) : kind === 'commit' ? Buffer.from([0, 0, 0, 1]) : null,
    isControlRecord: kind === 'abort' || kind === 'commit',
    batchContext: { producerId, inTransaction: kind !== 'plain' },
  }) satisfies FetchedRecord;

/** The offsets a reader is handed: neither control records nor hidden ones. */
const handedOver = (partition: FetchedPartition) =>
  partition.messages.filter((m) => !m.isControlRecord).map((m) => Number(m.offset));

it('When overlapping transactions were aborted in another order than they began, then none of their records is handed over', () => {
  const partition: FetchedPartition = {
    // Listed as the broker lists them: in the order they ended.
    abortedTransactions: [
      { producerId: 'b', firstOffset: '1' },
      { producerId: 'a', firstOffset: '0' },
    ],
    messages: [
      record(0, 'a'),
      record(1, 'b'),
      record(2, 'c'),
      record(3, 'a'),
      record(4, 'b', 'abort'),
      record(5, 'c', 'commit'),
      record(6, 'a', 'abort'),
      record(7, 'p', 'plain'),
    ],
  };
  hideAbortedRecords(partition);
  assert.deepEqual(handedOver(partition), [2, 7]);
  assert.deepEqual(partition.abortedTransactions, [], "nothing is left for kafkajs's own filter");
});

it('When a fetch starts after several aborted transactions began, then their later records are hidden too', () => {
  const partition: FetchedPartition = {
    abortedTransactions: [
      { producerId: 'a', firstOffset: '10' },
      { producerId: 'b', firstOffset: '11' },
    ],
    messages: [record(20, 'b'), record(21, 'a'), record(22, 'a', 'abort'), record(23, 'b', 'abort'), record(24, 'c')],
  };
  hideAbortedRecords(partition);
  assert.deepEqual(handedOver(partition), [24]);
});

it('When a producer commits after an aborted transaction, then its committed records are handed over', () => {
  const partition: FetchedPartition = {
    abortedTransactions: [{ producerId: 'a', firstOffset: '0' }],
    messages: [record(0, 'a'), record(1, 'a', 'abort'), record(2, 'a'), record(3, 'a', 'commit')],
  };
  hideAbortedRecords(partition);
  assert.deepEqual(handedOver(partition), [2]);
});
