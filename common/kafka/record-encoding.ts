import { createRequire } from 'node:module';
import { replaceKafkajsModule } from './kafkajs-module.ts';

// kafkajs 2.2.4 encodes every record it sends with a new Encoder (a zeroed 512-byte buffer) for the record and one for
// each header, a small Buffer for each varint and 64-bit Longs for the timestamp: about 6 µs and a few KB of garbage
// for a message with the two headers every service message carries. This module puts in kafkajs's place a record
// encoder that writes the same bytes into one buffer of the record's size (docs/benchmarks-history.md, tuning 30).

const require = createRequire(import.meta.url);

/** What kafkajs's produce request hands its record encoder: a message, with its deltas in the batch. */
interface RecordFields {
  offsetDelta?: number;
  timestampDelta?: number;
  key?: unknown;
  value?: unknown;
  headers?: Record<string, unknown>;
}
/** kafkajs's Encoder (not in its public types): the batch copies each record's `buffer`. */
interface KafkaEncoder {
  buf: Buffer;
  offset: number;
  readonly buffer: Buffer;
}

const RECORD_ENCODER = 'kafkajs/src/protocol/recordBatch/record/v0/index.js';
const PRODUCE_REQUEST = 'kafkajs/src/protocol/requests/produce/v3/request.js';
const Encoder = require('kafkajs/src/protocol/encoder.js') as { prototype: KafkaEncoder };
const kafkajsEncodeRecord = require(RECORD_ENCODER) as (record: RecordFields) => KafkaEncoder;

/** A delta both encoders write alike as a 32-bit zigzag varint (kafkajs writes a timestamp's as a 64-bit one). */
const isSmall = (value: unknown): value is number =>
  Number.isInteger(value) && (value as number) >= -(2 ** 30) && (value as number) < 2 ** 30;
const zigZag = (value: number) => ((value << 1) ^ (value >> 31)) >>> 0;

function varIntSize(value: number): number {
  let rest = zigZag(value);
  let size = 1;
  while (rest >= 0x80) {
    rest >>>= 7;
    size++;
  }
  return size;
}

function writeVarInt(buffer: Buffer, at: number, value: number): number {
  let rest = zigZag(value);
  while (rest >= 0x80) {
    buffer[at++] = (rest & 0x7f) | 0x80;
    rest >>>= 7;
  }
  buffer[at++] = rest;
  return at;
}

/** The length of a field's bytes, -1 for null; undefined for what this encoder leaves to kafkajs's. */
function lengthOf(field: unknown, nullable: boolean): number | undefined {
  if (Buffer.isBuffer(field)) return field.length;
  if (typeof field === 'string') return Buffer.byteLength(field, 'utf8');
  return nullable && field == null ? -1 : undefined;
}

/** A field's length and bytes at `at` (kafkajs's `writeVarIntBytes`); the offset past them. */
function writeField(buffer: Buffer, at: number, field: unknown, length: number): number {
  at = writeVarInt(buffer, at, length);
  if (length <= 0) return at;
  return at + (Buffer.isBuffer(field) ? field.copy(buffer, at) : buffer.write(field as string, at, 'utf8'));
}

/** A field's length prefix and bytes (a null field has no bytes). */
const fieldSize = (length: number) => varIntSize(length) + Math.max(length, 0);

/**
 * A record's headers as the fields they are written as, name and value in turn, each of a header's values after its
 * name when it has several; undefined when a value is neither text nor a Buffer (kafkajs's encoder decides then).
 */
function headerFields(headers: Record<string, unknown>): Array<string | Buffer> | undefined {
  const fields: Array<string | Buffer> = [];
  for (const name in headers) {
    if (!Object.hasOwn(headers, name)) continue;
    const values = headers[name];
    for (const one of Array.isArray(values) ? values : [values]) {
      if (lengthOf(one, false) === undefined) return undefined;
      fields.push(name, one);
    }
  }
  return fields;
}

/**
 * A record as kafkajs's encoder writes it (Kafka's record format v2: length, attributes, timestamp and offset deltas,
 * key, value, headers; each header's values in turn when it has several). Any field this encoder does not take
 * (a delta of 2^30 or more, a field neither text nor a Buffer) goes to kafkajs's own encoder, with its checks.
 */
export function encodeRecord(record: RecordFields): KafkaEncoder {
  const { offsetDelta = 0, timestampDelta = 0, key, value, headers = {} } = record;
  const keyLength = lengthOf(key, true);
  const valueLength = lengthOf(value, true);
  const fields = headerFields(headers);
  if (
    !isSmall(offsetDelta) ||
    !isSmall(timestampDelta) ||
    keyLength === undefined ||
    valueLength === undefined ||
    fields === undefined
  )
    return kafkajsEncodeRecord(record);
  let headersSize = varIntSize(fields.length / 2);
  for (const field of fields) headersSize += fieldSize(lengthOf(field, false)!);
  const bodySize =
    1 +
    varIntSize(timestampDelta) +
    varIntSize(offsetDelta) +
    fieldSize(keyLength) +
    fieldSize(valueLength) +
    headersSize;
  const buffer = Buffer.allocUnsafe(varIntSize(bodySize) + bodySize);
  let at = writeVarInt(buffer, 0, bodySize);
  buffer[at++] = 0; // attributes: none are used in a record
  at = writeVarInt(buffer, at, timestampDelta);
  at = writeVarInt(buffer, at, offsetDelta);
  at = writeField(buffer, at, key, keyLength);
  at = writeField(buffer, at, value, valueLength);
  at = writeVarInt(buffer, at, fields.length / 2);
  for (const field of fields) at = writeField(buffer, at, field, lengthOf(field, false)!);
  const encoder = Object.create(Encoder.prototype) as KafkaEncoder;
  encoder.buf = buffer;
  encoder.offset = at;
  return encoder;
}

/**
 * Whether kafkajs encodes records with `encodeRecord` in this process: kafkajs's produce request takes the record
 * encoder from Node's module cache when it first loads, on the first send, where `encodeRecord` stands first.
 */
export const recordEncoderInstalled = replaceKafkajsModule(RECORD_ENCODER, encodeRecord, PRODUCE_REQUEST);
