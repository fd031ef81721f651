import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IsDateTime } from 'typebox/format';
import { instantMs, isIsoInstant } from '../../../common/topics/date-time.ts';
import { ordersPlaced } from '../../../common/topics/index.ts';
import { placedOrder } from '../../support/fixtures.ts';

const orderId = '2f0ac1c4-1f3c-4b53-9a3c-0e1a2b3c4d5e';

describe('the in-place date-time check', () => {
  it('accepts what toISOString writes, across years, months and leap days', () => {
    // Every 9 days, 7 h 37 min 11.123 s from 1899 to 2401: crosses 1900 (not a leap year), 2000 and 2400 (leap years).
    for (let at = Date.UTC(1899, 11, 25); at < Date.UTC(2401, 2, 5); at += 9 * 86_400_000 + 27_431_123) {
      const text = new Date(at).toISOString();
      assert.ok(isIsoInstant(text), text);
    }
    for (const text of ['2000-02-29T23:59:59.999Z', '2024-02-29T00:00:00.000Z', '2400-02-29T12:00:00.000Z'])
      assert.ok(isIsoInstant(text), text);
  });

  it('accepts nothing that the general RFC 3339 check refuses', () => {
    const refused = [
      '1900-02-29T00:00:00.000Z',
      '2026-02-29T00:00:00.000Z',
      '2026-04-31T00:00:00.000Z',
      '2026-13-01T00:00:00.000Z',
      '2026-00-10T00:00:00.000Z',
      '2026-12-00T00:00:00.000Z',
      '2026-12-05T24:00:00.000Z',
      '2026-12-05T23:60:00.000Z',
      '2026-12-05T23:59:61.000Z',
      '2026-12-05 23:59:59.000Z',
      '2026-12-05T23:59:59,000Z',
      '2026-12-05T23:59:59.00aZ',
      '2026-1a-05T23:59:59.000Z',
      '+02026-12-05T23:59:59.00',
      '2026-12-05T23:59:59.000z ',
    ];
    for (const text of refused) {
      assert.equal(IsDateTime(text), false, `${text}: the general check refuses it`);
      assert.equal(isIsoInstant(text), false, text);
    }
  });

  it('leaves every other RFC 3339 form to the general check, so topics accept and refuse what they did', () => {
    const others = [
      '2026-12-05T23:59:59Z',
      '2026-12-05T23:59:59.5+01:00',
      '2016-12-31T23:59:60.000Z',
      '2026-12-05t23:59:59z',
    ];
    for (const placedAt of others) {
      assert.equal(isIsoInstant(placedAt), false, placedAt);
      const value = { ...placedOrder(orderId), placedAt };
      assert.deepEqual(ordersPlaced.decode(ordersPlaced.encode(value)), value);
    }
    const impossible = { ...placedOrder(orderId), placedAt: '2026-02-29T00:00:00.000Z' };
    assert.throws(() => ordersPlaced.encode(impossible), /orders.placed contract/);
  });
});

describe('reading a date-time as epoch milliseconds', () => {
  it('gives what Date.parse gives, for what toISOString writes and for every other form', () => {
    // From the year 1 to 2401, every 97 days, 7 h 37 min 11.123 s: the years 1 to 99 too, which Date.UTC reads as 19xx.
    const from = Date.parse('0001-01-01T00:00:00.000Z');
    for (let at = from; at < Date.UTC(2401, 2, 5); at += 97 * 86_400_000 + 27_431_123) {
      const text = new Date(at).toISOString();
      assert.equal(instantMs(text), at, text);
    }
    for (const text of [
      '2026-12-05T23:59:59Z',
      '2026-12-05T23:59:59.5+01:00',
      '2026-12-05t23:59:59z',
      '0050-06-01T00:00:00.000Z',
    ])
      assert.equal(instantMs(text), Date.parse(text), text);
  });

  it('gives NaN for what Date.parse cannot read', () => {
    for (const text of ['2016-12-31T23:59:60.000Z', 'yesterday', '']) assert.ok(Number.isNaN(instantMs(text)), text);
  });
});
