import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { it } from 'node:test';
import { encodeRecord, recordEncoderInstalled } from '../../../common/kafka/record-encoding.ts';
import { kafkajsOriginal } from '../../support/kafkajs-original.ts';

// The record encoder put in kafkajs's place, held to kafkajs's own: the same bytes for every record, and the same
// error for what kafkajs refuses.
const require = createRequire(import.meta.url);
type Encode = (record: object) => { buffer: Buffer };

/** kafkajs's own record encoder (ours stands in its place in the module cache). */
const kafkajsEncodeRecord = kafkajsOriginal<Encode>('kafkajs/src/protocol/recordBatch/record/v0/index.js');

const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const SERVICE_HEADERS = { 'content-type': 'application/json', traceparent };

it('When this module loads before kafkajs first sends, then kafkajs encodes records with it', () => {
  assert.equal(recordEncoderInstalled, true);
  // What kafkajs's produce request loads, on the first send.
  assert.equal(require('kafkajs/src/protocol/recordBatch/record/v0'), encodeRecord);
  assert.notEqual(kafkajsEncodeRecord, encodeRecord);
});

it('When records carry keys, values and headers of every kind, then both encoders write the same bytes', () => {
  const fields: unknown[] = [
    null,
    undefined,
    '',
    'ord_01JE6Z3Q2W9X8Y7V6T5S4R3P2N',
    'sushi 寿司 🍣',
    Buffer.alloc(0),
    Buffer.from([0, 0x80, 0xff]),
    'x'.repeat(127),
    'x'.repeat(128),
    Buffer.alloc(20_000, 7),
  ];
  const headerSets: Array<Record<string, unknown> | undefined> = [
    undefined,
    {},
    SERVICE_HEADERS,
    { 'content-type': Buffer.from('application/json'), traceparent: Buffer.from(traceparent) },
    { repeated: ['1', Buffer.from('2'), ''], größe: 'groß', empty: [] },
    { ['k'.repeat(200)]: 'v'.repeat(300) },
  ];
  const deltas = [0, 1, 63, 64, 8191, 8192, -1, -64, -65, 2 ** 30 - 1, -(2 ** 30)];
  let compared = 0;
  for (const key of fields) {
    for (const value of fields) {
      for (const headers of headerSets) {
        const record = { key, value, headers, offsetDelta: compared % 300, timestampDelta: deltas[compared % 11]! };
        const ours = encodeRecord(record).buffer;
        assert.deepEqual(ours, kafkajsEncodeRecord(record).buffer, JSON.stringify({ key, value, headers }));
        compared++;
      }
    }
  }
  assert.equal(compared, fields.length ** 2 * headerSets.length);
});

it('When a field or delta is beyond what it writes itself, then kafkajs writes it, or refuses it, as before', () => {
  const unusual: object[] = [
    { key: 'k', value: 'v', offsetDelta: 0, timestampDelta: 2 ** 31 + 5 },
    { key: 'k', value: 'v', offsetDelta: 0, timestampDelta: -(2 ** 40) },
    { key: 'k', value: new Uint8Array([1, 2, 3]), offsetDelta: 2, timestampDelta: 0 },
  ];
  for (const record of unusual) assert.deepEqual(encodeRecord(record).buffer, kafkajsEncodeRecord(record).buffer);
  // kafkajs cannot write a null header value: the same error either way.
  const nullHeader = { key: 'k', value: 'v', headers: { a: null } };
  assert.throws(
    () => kafkajsEncodeRecord(nullHeader),
    (theirs: Error) => {
      assert.throws(() => encodeRecord(nullHeader), { name: theirs.name, message: theirs.message });
      return true;
    },
  );
});
