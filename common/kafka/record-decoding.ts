import { createRequire } from 'node:module';
import type { IHeaders } from 'kafkajs';
import { isAscii } from './ascii.ts';
import { replaceKafkajsModule } from './kafkajs-module.ts';

// kafkajs 2.2.4 decodes every record it fetches with work that a service reading its history at start does a
// million times: each header is added by spreading the record's header object into a new one, and each record's
// offset and timestamp are computed as 64-bit Longs parsed from, and printed back into, decimal strings (its varint
// reader builds a Long for every byte). With the `content-type` and `traceparent` headers every message carries, a
// service's catch-up took about 60 % longer than with header-less records. This module puts in kafkajs's place a
// record decoder that returns the same records with plain numbers where they are exact (below 2^53, as offsets and
// millisecond timestamps are), and reads a record's key, value and headers only when they are asked for: together,
// about half of each service's catch-up (docs/benchmarks-history.md, tunings 25 to 27).

const require = createRequire(import.meta.url);

/** What kafkajs's record decoder reads from (its `Decoder`, not in its public types). */
interface KafkaDecoder {
  buffer: Buffer;
  offset: number;
  readInt8(): number;
  readVarInt(): number;
  readVarLong(): Long;
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
 * A zigzag varint from `buffer` at `at`, read as kafkajs's `readVarInt` reads it; where it ends is left in
 * `varIntEnd` (a second return value without an object for each of a history's million reads).
 */
let varIntEnd = 0;
function varIntAt(buffer: Buffer, at: number): number {
  let result = 0;
  let shift = 0;
  let byte: number;
  do {
    byte = buffer[at++]!;
    result += (byte & 0x7f) << shift;
    shift += 7;
  } while (byte >= 0x80);
  varIntEnd = at;
  return (result >>> 1) ^ -(result & 1);
}

/** Past the key and the value that start at `at`: a record's headers, or a header's successor. */
function pastKeyAndValue(bytes: Buffer, at: number): number {
  return bytesEnd(bytes, bytesEnd(bytes, at));
}

/** Where the headers that start at `at` end, read without building them. */
function headersEnd(bytes: Buffer, at: number): number {
  const count = varIntAt(bytes, at);
  at = varIntEnd;
  for (let i = 0; i < count; i++) at = pastKeyAndValue(bytes, at);
  return at;
}

/** A header's key that starts at `at`, as kafkajs reads it: a null key (length -1) is null, naming the property "null". */
function keyAt(bytes: Buffer, at: number): string {
  const length = varIntAt(bytes, at);
  return length < 0 ? 'null' : bytes.toString('utf8', varIntEnd, varIntEnd + length);
}

/**
 * Whether the header key that starts at `at` reads as the ASCII `name`, as `keyAt` would read it, without making a
 * string of it: UTF-8 bytes decode to an ASCII string only if they are those very characters.
 */
function keyIs(bytes: Buffer, at: number, name: string): boolean {
  const length = varIntAt(bytes, at);
  if (length < 0) return name === 'null';
  if (length !== name.length) return false;
  for (let i = 0; i < length; i++) if (bytes[varIntEnd + i] !== name.charCodeAt(i)) return false;
  return true;
}

/**
 * The headers that start at `at`, as kafkajs builds them: a repeated key gathers its values in an array, and a key
 * that names one of Object.prototype's properties is read through it, as kafkajs's spread does.
 */
function readHeaders(bytes: Buffer, at: number): Headers {
  const headers: Headers = {};
  const count = varIntAt(bytes, at);
  at = varIntEnd;
  for (let i = 0; i < count; i++) {
    const key = keyAt(bytes, at);
    const valueAt = bytesEnd(bytes, at);
    const value = bytesAt(bytes, valueAt);
    at = bytesEnd(bytes, valueAt);
    const earlier = headers[key];
    const next = earlier === undefined ? value : Array.isArray(earlier) ? earlier.concat([value]) : [earlier, value];
    // An own property whatever the key, as an object literal's computed key makes it (assigning `__proto__` would
    // set the prototype instead).
    if (key === '__proto__')
      Object.defineProperty(headers, key, { value: next, enumerable: true, writable: true, configurable: true });
    else headers[key] = next;
  }
  return headers;
}

/** Where the bytes that start at `at` (a varint length, then that many bytes; -1 for null) end. */
function bytesEnd(bytes: Buffer, at: number): number {
  const length = varIntAt(bytes, at);
  return varIntEnd + Math.max(length, 0);
}

/** The bytes that start at `at`, as kafkajs's `readVarIntBytes` reads them: a view of the fetched bytes, or null. */
function bytesAt(bytes: Buffer, at: number): Buffer | null {
  const length = varIntAt(bytes, at);
  return length < 0 ? null : bytes.subarray(varIntEnd, varIntEnd + length);
}

/**
 * A Buffer over the whole of `source`. The records of a fetch share its bytes, so the last view is kept for the next
 * record rather than made anew for each (it holds the last fetch's bytes until another is read).
 */
let lastSource: ArrayBufferLike | undefined;
let lastView: Buffer = Buffer.alloc(0);
function viewOf(source: ArrayBufferLike): Buffer {
  if (source !== lastSource) {
    lastSource = source;
    lastView = Buffer.from(source);
  }
  return lastView;
}

/**
 * One record as kafkajs 2.2.4's `recordBatch/record/v0/decoder.js` returns it, the same fields, but for `key`,
 * `value` and `headers`: getters that read them from the fetched bytes when asked for, rather than own properties (so
 * a spread copy of a record leaves them out). kafkajs decodes a whole fetch (about 3 000 records of a history) before
 * anything handles its first record, so whatever a record holds outlives V8's young generation and is collected with
 * the old one. A record here holds no Buffer of its own: `key` and `value` are a new view of the same bytes each time
 * they are asked for (so the one a handler takes dies young with the handler's other garbage), and `headers` are
 * built once, when first asked for; `headerOf` reads one header without keeping them. Anything assigned to the three
 * is kept and given back.
 */
class DecodedRecord {
  readonly magicByte: number | undefined;
  readonly attributes: number;
  readonly timestamp: string;
  readonly offset: string;
  readonly isControlRecord: boolean;
  readonly batchContext: BatchContext;
  /** The fetched bytes the record is in, and where its key starts in them (what a Buffer of its own would cost). */
  readonly #source: ArrayBufferLike;
  readonly #at: number;
  // undefined: not assigned (null is a key or value kafkajs reads).
  #key: Buffer | null | undefined;
  #value: Buffer | null | undefined;
  #headers: Headers | undefined;
  constructor(
    batchContext: BatchContext,
    attributes: number,
    timestamp: string,
    offset: string,
    source: ArrayBufferLike,
    at: number,
  ) {
    this.magicByte = batchContext.magicByte;
    this.attributes = attributes;
    this.timestamp = timestamp;
    this.offset = offset;
    this.isControlRecord = batchContext.isControlBatch ?? false;
    this.batchContext = batchContext;
    this.#source = source;
    this.#at = at;
  }
  get key(): Buffer | null {
    return this.#key === undefined ? bytesAt(viewOf(this.#source), this.#at) : this.#key;
  }
  set key(key: Buffer | null) {
    this.#key = key;
  }
  get value(): Buffer | null {
    if (this.#value !== undefined) return this.#value;
    const bytes = viewOf(this.#source);
    return bytesAt(bytes, bytesEnd(bytes, this.#at));
  }
  set value(value: Buffer | null) {
    this.#value = value;
  }
  get headers(): Headers {
    if (this.#headers === undefined) {
      const bytes = viewOf(this.#source);
      this.#headers = readHeaders(bytes, pastKeyAndValue(bytes, this.#at));
    }
    return this.#headers;
  }
  set headers(headers: Headers) {
    this.#headers = headers;
  }
  /** The first value of header `name`, read from the bytes while the headers have not been built. */
  headerOf(name: string): Buffer | null | undefined {
    // A name of Object.prototype's properties is read through it, as `headers` reads it; one that is not ASCII is
    // looked up among the built headers too (the walk below compares a key's bytes with an ASCII name).
    if (this.#headers !== undefined || name in Object.prototype || !isAscii(name)) return firstOf(this.headers[name]);
    const bytes = viewOf(this.#source);
    let at = pastKeyAndValue(bytes, this.#at);
    const count = varIntAt(bytes, at);
    at = varIntEnd;
    for (let i = 0; i < count; i++) {
      const valueAt = bytesEnd(bytes, at);
      if (keyIs(bytes, at, name)) return bytesAt(bytes, valueAt);
      at = bytesEnd(bytes, valueAt);
    }
    return undefined;
  }
}

function firstOf<T>(value: T | T[]): T {
  return Array.isArray(value) ? value[0]! : value;
}

/**
 * The first value of a consumed message's header `name` (a repeated header's first), as `message.headers[name]`
 * gives it; for a record of this module, read without building the record's headers.
 */
export function headerOf(message: { readonly headers?: unknown }, name: string): Buffer | string | null | undefined {
  if (message instanceof DecodedRecord) return message.headerOf(name);
  return firstOf((message.headers as IHeaders | undefined)?.[name]);
}

/**
 * Decodes one record from `decoder` and leaves it where kafkajs's decoder would; its key, value and headers wait
 * until they are asked for.
 */
export function decodeRecord(decoder: KafkaDecoder, batchContext: BatchContext = {} as BatchContext): DecodedRecord {
  const { firstOffset, firstTimestamp, timestampType, maxTimestamp } = batchContext;
  const attributes = decoder.readInt8();
  const timestampDelta = readShortVarLong(decoder) ?? decoder.readVarLong();
  const timestamp =
    timestampType === LOG_APPEND_TIME && maxTimestamp ? maxTimestamp : timestampPlus(firstTimestamp, timestampDelta);
  const offset = offsetPlus(firstOffset, decoder.readVarInt());
  const { buffer } = decoder;
  const at = decoder.offset;
  decoder.offset = headersEnd(buffer, pastKeyAndValue(buffer, at));
  return new DecodedRecord(batchContext, attributes, timestamp, offset, buffer.buffer, buffer.byteOffset + at);
}

/**
 * Whether kafkajs decodes records with `decodeRecord` in this process: kafkajs loads its record batch decoder on its
 * first fetch, and that takes the record decoder from Node's module cache, where `decodeRecord` stands first.
 */
export const recordDecoderInstalled = replaceKafkajsModule(RECORD_DECODER, decodeRecord, BATCH_DECODER);
