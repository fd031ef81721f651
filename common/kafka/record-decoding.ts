import { Module, createRequire } from 'node:module';

// kafkajs 2.2.4 decodes every record it fetches with work that a service reading its history at start does a
// million times: each header is added by spreading the record's header object into a new one, and each record's
// offset and timestamp are computed as 64-bit Longs parsed from, and printed back into, decimal strings (its varint
// reader builds a Long for every byte). With the `content-type` and `traceparent` headers every message carries, a
// service's catch-up took about 60 % longer than with header-less records. This module puts in kafkajs's place a
// record decoder that returns the same records with plain numbers where they are exact (below 2^53, as offsets and
// millisecond timestamps are) and one header object per record: a fifth to a quarter off each service's catch-up
// (docs/benchmarks-history.md, tuning 25).

const require = createRequire(import.meta.url);

/** What kafkajs's record decoder reads from (its `Decoder`, not in its public types). */
interface KafkaDecoder {
  buffer: Buffer;
  offset: number;
  readInt8(): number;
  readVarInt(): number;
  readVarLong(): Long;
  readVarIntBytes(): Buffer | null;
  readVarIntArray<T>(reader: (decoder: KafkaDecoder) => T): T[];
}
interface Long {
  toString(): string;
  add(other: Long | number): Long;
}
interface LongClass {
  fromValue(value: string | number | Long): Long;
}

/** What the batch decoder hands each record: the batch's fields, offsets and timestamps as decimal strings. */
interface BatchContext {
  firstOffset: string;
  firstTimestamp: string;
  magicByte?: number;
  isControlBatch?: boolean;
  timestampType?: number;
  maxTimestamp?: string;
}

type Headers = Record<string, Buffer | null | Array<Buffer | null>>;

const RECORD_DECODER = 'kafkajs/src/protocol/recordBatch/record/v0/decoder.js';
const BATCH_DECODER = 'kafkajs/src/protocol/recordBatch/v0/decoder.js';
const Long = require('kafkajs/src/utils/long.js') as LongClass;
const readHeader = require('kafkajs/src/protocol/recordBatch/header/v0/decoder.js') as (decoder: KafkaDecoder) => {
  key: string;
  value: Buffer | null;
};
const { LOG_APPEND_TIME } = require('kafkajs/src/protocol/timestampTypes.js') as { LOG_APPEND_TIME: number };

/**
 * A zigzag varlong as a number when it has at most seven bytes (49 bits, so exact); undefined, with the decoder where
 * it was, when it is longer, for kafkajs's own reader to take.
 */
function readShortVarLong(decoder: KafkaDecoder): number | undefined {
  const { buffer } = decoder;
  let at = decoder.offset;
  let result = 0;
  for (let shift = 0; shift < 49; shift += 7) {
    const byte = buffer[at++]!;
    result += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) {
      decoder.offset = at;
      return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
    }
  }
  return undefined;
}

/**
 * `base` (a decimal string) plus `delta`, as kafkajs writes it: with numbers when both and the sum are exact. The
 * records of a batch share their base, so the last one read is remembered (one for offsets, one for timestamps).
 */
function adder() {
  let lastBase: string | undefined;
  let lastValue = Number.NaN;
  return (base: string, delta: number | Long): string => {
    if (typeof delta === 'number') {
      if (base !== lastBase) {
        lastBase = base;
        lastValue = Number(base);
      }
      const sum = lastValue + delta;
      if (Number.isSafeInteger(sum) && Number.isSafeInteger(lastValue)) return String(sum);
    }
    return Long.fromValue(base).add(delta).toString();
  };
}
const offsetPlus = adder();
const timestampPlus = adder();

/**
 * One record, as kafkajs 2.2.4's `recordBatch/record/v0/decoder.js` returns it: the same fields in the same order,
 * and the same header object, a repeated key gathering its values in an array (and a key that names one of
 * Object.prototype's properties read through it, as kafkajs's spread does).
 */
export function decodeRecord(decoder: KafkaDecoder, batchContext: BatchContext = {} as BatchContext) {
  const { firstOffset, firstTimestamp, magicByte, isControlBatch = false, timestampType, maxTimestamp } = batchContext;
  const attributes = decoder.readInt8();
  const timestampDelta = readShortVarLong(decoder) ?? decoder.readVarLong();
  const timestamp =
    timestampType === LOG_APPEND_TIME && maxTimestamp ? maxTimestamp : timestampPlus(firstTimestamp, timestampDelta);
  const offset = offsetPlus(firstOffset, decoder.readVarInt());
  const key = decoder.readVarIntBytes();
  const value = decoder.readVarIntBytes();
  const headers: Headers = {};
  for (const header of decoder.readVarIntArray(readHeader)) {
    const earlier = headers[header.key];
    const next =
      earlier === undefined
        ? header.value
        : Array.isArray(earlier)
          ? earlier.concat([header.value])
          : [earlier, header.value];
    // An own property whatever the key, as an object literal's computed key makes it (assigning `__proto__` would
    // set the prototype instead).
    if (header.key === '__proto__')
      Object.defineProperty(headers, header.key, { value: next, enumerable: true, writable: true, configurable: true });
    else headers[header.key] = next;
  }
  return {
    magicByte,
    attributes,
    timestamp,
    offset,
    key,
    value,
    headers,
    isControlRecord: isControlBatch,
    batchContext,
  };
}

/**
 * Puts `decodeRecord` in kafkajs's place. kafkajs loads its record batch decoder on its first fetch, and that takes
 * the record decoder from Node's module cache: an entry of our own goes there first. A new entry rather than new
 * exports on kafkajs's: the OpenTelemetry kafkajs instrumentation's `require` hook keeps the exports it first saw on
 * the entry it saw. Returns false when the batch decoder was already loaded, with kafkajs's decoder in it (nothing is
 * changed then).
 */
function install(): boolean {
  if (require.cache[require.resolve(BATCH_DECODER)]) return false;
  const filename = require.resolve(RECORD_DECODER);
  const entry = new Module(filename);
  entry.filename = filename;
  entry.loaded = true;
  entry.exports = decodeRecord;
  require.cache[filename] = entry;
  return true;
}

/** Whether kafkajs decodes records with `decodeRecord` in this process. */
export const recordDecoderInstalled = install();
