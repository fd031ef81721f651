import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  ALL_TOPICS,
  MessageDecodeError,
  deadLetterTopicOf,
  kitchenTickets,
  ordersPlaced,
  ordersStatus,
} from '../../../common/topics/index.ts';
import { placedOrder } from '../../support/fixtures.ts';

const placed = placedOrder(randomUUID());

function decodeError(run: () => unknown): MessageDecodeError {
  try {
    run();
  } catch (error) {
    if (error instanceof MessageDecodeError) return error;
    throw error;
  }
  assert.fail('expected a MessageDecodeError');
}

describe('topic contracts', () => {
  it('When a valid order is encoded and decoded, then it comes back equal and keyed by its id', () => {
    assert.deepEqual(ordersPlaced.decode(ordersPlaced.encode(placed)), placed);
    assert.equal(ordersPlaced.key(placed), placed.orderId);
  });

  it('When the bytes are not JSON, then decoding fails with invalid_json', () => {
    assert.equal(decodeError(() => ordersPlaced.decode(Buffer.from('{"orderId":'))).code, 'invalid_json');
    assert.equal(decodeError(() => ordersPlaced.decode(null)).code, 'invalid_json');
  });

  it('When the JSON breaks the schema, then decoding fails with schema_mismatch naming the field', () => {
    const error = decodeError(() =>
      ordersPlaced.decode(
        Buffer.from(JSON.stringify({ ...placed, items: [{ menuItemId: 'tuna-nigiri', quantity: 0 }] })),
      ),
    );
    assert.equal(error.code, 'schema_mismatch');
    assert.ok(
      error.details.some((d) => d.startsWith('/items/0/quantity')),
      error.details.join('; '),
    );
  });

  it('When a value carries an unknown field, then the consumer refuses it', () => {
    assert.equal(
      decodeError(() =>
        kitchenTickets.decode(
          Buffer.from(
            JSON.stringify({
              orderId: randomUUID(),
              channel: 'direct',
              ticketedAt: new Date().toISOString(),
              items: [{ menuItemId: 'edamame', quantity: 1 }],
              traceparent: 'x',
            }),
          ),
        ),
      ).code,
      'schema_mismatch',
    );
  });

  it('When a producer tries to send a value that breaks the contract, then encoding refuses it', () => {
    assert.throws(
      () =>
        ordersStatus.encode({
          orderId: 'not-a-uuid',
          channel: 'online',
          status: 'ready',
          at: new Date().toISOString(),
        }),
      MessageDecodeError,
    );
  });

  it('When topics are listed, then each has its dead-letter topic', () => {
    assert.deepEqual(
      ALL_TOPICS.map((t) => t.name),
      [
        'orders.placed',
        'orders.placed.dlq',
        'kitchen.tickets',
        'kitchen.tickets.dlq',
        'orders.status',
        'orders.status.dlq',
        'ituna.control',
      ],
    );
    assert.equal(deadLetterTopicOf('orders.placed'), 'orders.placed.dlq');
  });
});
