import { randomInt } from 'node:crypto';
import type { ICustomPartitioner } from 'kafkajs';
import { isAscii } from './ascii.ts';

// kafkajs's default partitioner hashes each key with murmur2 in 64-bit Longs backed by BigInt, after copying a string
// key into a Buffer, and filters the partition list for every message: about 3 µs and a few KB of garbage a message
// (docs/benchmarks-history.md, tuning 30). The same hash in 32-bit integer arithmetic gives the same partitions.

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** The byte at `i` of a key given as Latin-1-range text or as bytes. */
type ByteAt = (key: string | Uint8Array, i: number) => number;
const charByte: ByteAt = (key, i) => (key as string).charCodeAt(i);
const arrayByte: ByteAt = (key, i) => (key as Uint8Array)[i]!;

/**
 * Kafka's murmur2 (the Java client's `Utils.murmur2`, which kafkajs's default partitioner copies) of a key's UTF-8
 * bytes, as a signed 32-bit integer. An ASCII string is read in place; any other string is encoded first.
 */
export function murmur2(key: string | Uint8Array): number {
  if (typeof key === 'string' && !isAscii(key)) key = Buffer.from(key, 'utf8');
  const byteAt = typeof key === 'string' ? charByte : arrayByte;
  const length = key.length;
  let h = SEED ^ length;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = byteAt(key, i) | (byteAt(key, i + 1) << 8) | (byteAt(key, i + 2) << 16) | (byteAt(key, i + 3) << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  switch (length & 3) {
    // biome-ignore lint/suspicious/noFallthroughSwitchClause: the tail's bytes fall through, as in the Java client
    case 3:
      h ^= byteAt(key, whole + 2) << 16;
    // biome-ignore lint/suspicious/noFallthroughSwitchClause: as above
    case 2:
      h ^= byteAt(key, whole + 1) << 8;
    case 1:
      h ^= byteAt(key, whole);
      h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h;
}

const toPositive = (hash: number) => hash & 0x7fffffff;

/**
 * kafkajs's default partitioner, as fast as the hash allows, which also writes the partition it chose on the message,
 * so that the sender can check every message's partition against Kafka's acknowledgements (`sendAcknowledged`) and
 * send a message again to the same partition. As kafkajs's: a message's own partition if it has one; else the
 * murmur2 of its key over all partitions (the Java client's choice, so every client agrees); else round robin over the
 * partitions that have a leader.
 */
export const recordingPartitioner: ICustomPartitioner = () => {
  const counters = new Map<string, number>();
  return ({ topic, partitionMetadata, message }) => {
    if (message.partition !== null && message.partition !== undefined) return message.partition;
    const { key } = message;
    if (key !== null && key !== undefined) {
      message.partition = toPositive(murmur2(key)) % partitionMetadata.length;
      return message.partition;
    }
    const next = (counters.get(topic) ?? randomInt(2 ** 32)) + 1;
    counters.set(topic, next);
    const led = partitionMetadata.filter((p) => p.leader >= 0);
    message.partition =
      led.length > 0 ? led[toPositive(next) % led.length]!.partitionId : toPositive(next) % partitionMetadata.length;
    return message.partition;
  };
};
