import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { it } from 'node:test';
import { decodeRecord, headerOf, recordDecoderInstalled } from '../../../common/kafka/record-decoding.ts';
import { kafkajsOriginal } from '../../support/kafkajs-original.ts';

// The record decoder put in kafkajs's place, held to kafkajs's own on the same bytes: every field, header and
// prototype alike.
const require = createRequire(import.meta.url);
const Encoder = require('kafkajs/src/protocol/encoder.js');
const Decoder = require('kafkajs/src/protocol/decoder.js');
const Long = require('kafkajs/src/utils/long.js');
const encodeHeader = require('kafkajs/src/protocol/recordBatch/header/v0/index.js');

/** kafkajs's own record decoder (ours stands in its place in the module cache). */
const kafkajsRecordDecoder = kafkajsOriginal<(...args: Parameters<typeof decodeRecord>) => ReturnType<typeof fields>>(
  'kafkajs/src/protocol/recordBatch/record/v0/decoder.js',
);

/** A header; a key given as bytes is written as they are (kafkajs's encoder writes only valid UTF-8). */
type Header = { key: string | Buffer | null; value: Buffer | null };
const encodeAnyHeader = (header: Header) =>
  Buffer.isBuffer(header.key)
    ? new Encoder().writeVarIntBytes(header.key).writeVarIntBytes(header.value)
    : encodeHeader(header);

const value = (text: string) => Buffer.from(text);
/** The headers every message of the services carries. */
const SERVICE_HEADERS: Header[] = [
  { key: 'content-type', value: value('application/json') },
  { key: 'traceparent', value: value('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01') },
];

/** A record's bytes as a batch holds them after its length. */
function recordBytes(
  timestampDelta: unknown,
  offsetDelta: number,
  key: Buffer | null,
  value: Buffer | null,
  headers: Header[],
) {
  return new Encoder()
    .writeInt8(0)
    .writeVarLong(timestampDelta)
    .writeVarInt(offsetDelta)
    .writeVarIntBytes(key)
    .writeVarIntBytes(value)
    .writeVarIntArray(headers.map(encodeAnyHeader)).buffer as Buffer;
}

/** A record's fields in kafkajs's order, headers included (ours reads them when asked, through a getter). */
const fields = (record: ReturnType<typeof decodeRecord>) => ({
  magicByte: record.magicByte,
  attributes: record.attributes,
  timestamp: record.timestamp,
  offset: record.offset,
  key: record.key,
  value: record.value,
  headers: record.headers,
  isControlRecord: record.isControlRecord,
  batchContext: record.batchContext,
});

const both = (bytes: Buffer, context: object) => {
  const ours = fields(decodeRecord(new Decoder(bytes), context as never));
  const theirs = kafkajsRecordDecoder(new Decoder(bytes), context as never);
  return { ours, theirs };
};

it('When this module loads before kafkajs fetches, then kafkajs decodes records with it', () => {
  assert.equal(recordDecoderInstalled, true);
  assert.equal(require('kafkajs/src/protocol/recordBatch/record/v0/decoder.js'), decodeRecord);
  assert.notEqual(kafkajsRecordDecoder, decodeRecord);
});

it('When records carry headers, repeated keys, nulls and keys of Object.prototype, then both decoders return the same', () => {
  const cases: Header[][] = [
    [],
    SERVICE_HEADERS.slice(0, 1),
    SERVICE_HEADERS,
    [
      { key: 'a', value: value('1') },
      { key: 'a', value: null },
      { key: 'a', value: value('3') },
      { key: 'b', value: value('') },
    ],
    [{ key: '__proto__', value: value('x') }],
    [
      { key: null, value: value('n') },
      { key: 'null', value: value('m') },
    ],
    [
      { key: '__proto__', value: value('x') },
      { key: '__proto__', value: value('y') },
    ],
    [
      { key: 'toString', value: value('x') },
      { key: 'constructor', value: null },
    ],
  ];
  const context = {
    firstOffset: '41',
    firstTimestamp: '1733440000000',
    magicByte: 2,
    isControlBatch: false,
    timestampType: 0,
  };
  for (const headers of cases) {
    for (const [key, body] of [
      [value('order-1'), value('{"a":1}')],
      [null, null],
    ] as const) {
      const { ours, theirs } = both(recordBytes(3, 2, key, body, headers), context);
      assert.deepStrictEqual(ours, theirs, JSON.stringify(headers));
    }
  }
});

it('When offsets and timestamps are near or past 2^53, or deltas need long varints, then both decoders return the same', () => {
  const firsts = ['0', '-1', '12345', '9007199254740990', '9007199254740993', '9223372036854775000'];
  const deltas = [0, 1, -1, 5, 1_000_000, 2 ** 31 - 1, -(2 ** 31), 2 ** 48, -(2 ** 48), 2 ** 52 + 1];
  for (const first of firsts) {
    for (const delta of deltas) {
      for (const timestampType of [0, 1]) {
        const context = {
          firstOffset: first,
          firstTimestamp: first,
          maxTimestamp: '1733440000999',
          isControlBatch: timestampType === 1,
          timestampType,
        };
        const offsetDelta = Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, delta));
        for (const timestampDelta of [
          delta,
          Long.fromString('72057594037927936'),
          Long.fromString('-4611686018427387904'),
        ]) {
          const { ours, theirs } = both(recordBytes(timestampDelta, offsetDelta, null, null, []), context);
          assert.deepStrictEqual(ours, theirs, `${first} ${String(timestampDelta)} ${timestampType}`);
        }
      }
    }
  }
});

it('When many records are decoded one after another from one buffer, then each leaves the decoder where kafkajs does', () => {
  const records = Array.from({ length: 200 }, (_, i) =>
    recordBytes(
      i * 997,
      i,
      Buffer.from(`k${i}`),
      Buffer.from('v'.repeat(i)),
      i % 3 ? [] : [{ key: 'h', value: Buffer.from(String(i)) }],
    ),
  );
  const all = Buffer.concat(records);
  const ours = new Decoder(all);
  const theirs = new Decoder(all);
  const context = { firstOffset: '1000', firstTimestamp: '1733440000000', timestampType: 0 };
  for (let i = 0; i < records.length; i++) {
    const record = decodeRecord(ours, context as never);
    const expected = kafkajsRecordDecoder(theirs, context as never);
    // Where the record ends is found before its headers are read, and nothing of it moves after.
    assert.equal(ours.offset, theirs.offset);
    assert.deepStrictEqual(fields(record), expected);
  }
});

it("When a record's key, value and headers are asked for again or replaced, then it gives the same bytes, or the new ones", () => {
  const bytes = recordBytes(0, 0, Buffer.from('order-1'), Buffer.from('{}'), [
    { key: 'traceparent', value: Buffer.from('00-ab-cd-01') },
  ]);
  const record = decodeRecord(new Decoder(bytes), { firstOffset: '0', firstTimestamp: '0' } as never);
  // Read in an order other than the bytes': each finds its own place.
  assert.equal(record.headers.traceparent?.toString(), '00-ab-cd-01');
  assert.equal(record.value?.toString(), '{}');
  assert.equal(record.key?.toString(), 'order-1');
  // The headers are built once; a key or a value is a new view of the same bytes each time.
  assert.equal(record.headers, record.headers);
  assert.deepEqual(record.value, record.value);
  assert.equal(record.value?.buffer, record.value?.buffer);
  const replaced = { other: Buffer.from('x') };
  record.headers = replaced;
  record.value = Buffer.from('[]');
  record.key = null;
  assert.equal(record.headers, replaced);
  assert.equal(record.value.toString(), '[]');
  assert.equal(record.key, null);
});

it('When one header is read from a record, then it is the first value kafkajs gives under that name, built or not', () => {
  const headers: Header[] = [
    ...SERVICE_HEADERS,
    { key: 'a', value: value('1') },
    { key: 'a', value: null },
    { key: 'e', value: value('') },
    { key: '__proto__', value: value('x') },
    { key: 'toString', value: value('y') },
    { key: null, value: value('n') },
    { key: 'type', value: value('t') },
    { key: 'größe', value: value('g') },
    // Not UTF-8: kafkajs reads the key as "t\uFFFD".
    { key: Buffer.from([0x74, 0xff]), value: value('i') },
  ];
  const bytes = recordBytes(0, 0, null, value('{}'), headers);
  const context = { firstOffset: '0', firstTimestamp: '0' } as never;
  const theirs = kafkajsRecordDecoder(new Decoder(bytes), context).headers as Record<string, unknown>;
  const names = [
    ...['content-type', 'traceparent', 'a', 'e', '__proto__', 'toString', 'constructor', 'missing', 'null'],
    ...['type', 'types', 'ab', 'content', 'größe', 'große', 't\uFFFD', 't'],
  ];
  for (const built of [false, true]) {
    for (const name of names) {
      // A record for each name: reading a name of Object.prototype's builds the record's headers.
      const record = decodeRecord(new Decoder(bytes), context);
      if (built) void record.headers;
      const expected = Array.isArray(theirs[name]) ? (theirs[name] as unknown[])[0] : theirs[name];
      assert.deepStrictEqual(headerOf(record, name), expected, `${name}, headers built: ${built}`);
    }
  }
  // A message from elsewhere (a producer's, or another decoder's) is read through its headers.
  assert.equal(headerOf({ headers: { a: ['1', '2'] } } as never, 'a'), '1');
});
