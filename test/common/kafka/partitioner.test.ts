import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { it } from 'node:test';
import type { Message, PartitionMetadata } from 'kafkajs';
import { murmur2, recordingPartitioner } from '../../../common/kafka/partitioner.ts';

// The partitioner must send every key where kafkajs's default partitioner (and so the Java client) sends it: a
// message's partition decides which replica of a worker handles it, and its order among the key's other messages.
const require = createRequire(import.meta.url);
const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2.js') as (
  key: string | Buffer,
) => number;
const { Partitioners } = require('kafkajs') as typeof import('kafkajs');

/** Keys of every length up to 70 bytes (each remainder of four), ASCII, other UTF-8 and raw bytes. */
function sampleKeys(): Array<string | Buffer> {
  const keys: Array<string | Buffer> = ['', 'settings', 'ord_01JE6Z3Q2W9X8Y7V6T5S4R3P2N'];
  for (let length = 0; length <= 70; length++) {
    const bytes = randomBytes(length);
    keys.push(bytes, bytes.toString('base64').slice(0, length), bytes.toString('hex').slice(0, length));
    keys.push(`${'é'.repeat(length % 5)}x${'寿司'.repeat(length % 3)}${'🍣'.repeat(length % 4)}`);
  }
  // Every byte value, including those that are negative as Java bytes.
  keys.push(Buffer.from(Array.from({ length: 256 }, (_, i) => i)));
  return keys;
}

it('hashes every key as kafkajs does', () => {
  for (const key of sampleKeys()) {
    assert.equal(murmur2(key), kafkajsMurmur2(key), `key ${JSON.stringify(key.toString())}`);
  }
});

it("gives the Java client's murmur2 for its published examples", () => {
  const examples: Array<[string, number]> = [
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ];
  for (const [key, hash] of examples) {
    assert.equal(murmur2(key), hash, key);
    assert.equal(murmur2(Buffer.from(key)), hash, key);
  }
});

const partitions = (count: number, leaderless: number[] = []): PartitionMetadata[] =>
  Array.from({ length: count }, (_, partitionId) => ({
    partitionErrorCode: 0,
    partitionId,
    leader: leaderless.includes(partitionId) ? -1 : 0,
    replicas: [0],
    isr: [0],
  }));

it("chooses kafkajs's partition for every keyed message, and writes it on the message", () => {
  const ours = recordingPartitioner();
  const theirs = Partitioners.DefaultPartitioner();
  for (const count of [1, 3, 6, 7, 12]) {
    for (const key of sampleKeys()) {
      // A partition without a leader still takes its keys, as in kafkajs and the Java client.
      const partitionMetadata = partitions(count, [count - 1]);
      const message: Message = { key, value: 'v' };
      const chosen = ours({ topic: 'orders.placed', partitionMetadata, message });
      assert.equal(chosen, theirs({ topic: 'orders.placed', partitionMetadata, message: { key, value: 'v' } }));
      assert.equal(message.partition, chosen);
    }
  }
});

it("keeps a message's own partition", () => {
  const message: Message = { key: 'ord_1', value: 'v', partition: 4 };
  assert.equal(recordingPartitioner()({ topic: 't', partitionMetadata: partitions(6), message }), 4);
  assert.equal(message.partition, 4);
});

it('sends messages without a key round robin over the partitions that have a leader', () => {
  const choose = recordingPartitioner();
  const partitionMetadata = partitions(6, [2, 5]);
  const chosen = Array.from({ length: 8 }, () => {
    const message: Message = { key: null, value: 'v' };
    const partition = choose({ topic: 't', partitionMetadata, message });
    assert.equal(message.partition, partition);
    return partition;
  });
  // Four led partitions, each once in every four messages, in a fixed turn.
  assert.deepEqual(new Set(chosen.slice(0, 4)), new Set([0, 1, 3, 4]));
  assert.deepEqual(chosen.slice(4), chosen.slice(0, 4));
  // With no partition led, still a partition of the topic.
  const none = choose({ topic: 'u', partitionMetadata: partitions(3, [0, 1, 2]), message: { key: null, value: 'v' } });
  assert.ok([0, 1, 2].includes(none));
});
