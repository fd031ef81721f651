import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { OrderStatus } from '../../common/restaurant/order.ts';
import { createOrderHistory } from '../../gateway/order-history.ts';

const change = (orderId: string, status: OrderStatus, second: number) => ({
  orderId,
  channel: 'online' as const,
  status,
  at: new Date(Date.UTC(2026, 0, 1, 12, 0, second)).toISOString(),
});

describe('order history', () => {
  it('When statuses arrive in order, then the order moves through each with its time', () => {
    const history = createOrderHistory();
    const id = randomUUID();
    for (const [i, status] of (['accepted', 'validated', 'cooking', 'ready'] as const).entries())
      history.apply(change(id, status, i), 'abc');
    const order = history.get(id)!;
    assert.equal(order.status, 'ready');
    assert.equal(order.traceId, 'abc');
    assert.deepEqual(
      order.history.map((h) => h.status),
      ['accepted', 'validated', 'cooking', 'ready'],
    );
  });

  it('When a status arrives late or twice, then the status never moves back and history has no duplicates', () => {
    const history = createOrderHistory();
    const id = randomUUID();
    history.apply(change(id, 'cooking', 2));
    history.apply(change(id, 'accepted', 0));
    history.apply(change(id, 'cooking', 3));
    assert.equal(history.get(id)!.status, 'cooking');
    assert.deepEqual(
      history.get(id)!.history.map((h) => h.status),
      ['accepted', 'cooking'],
    );
  });

  it('When an order is rejected, then its reasons are kept', () => {
    const history = createOrderHistory();
    const id = randomUUID();
    history.apply({
      ...change(id, 'rejected', 1),
      reasons: [{ check: 'name', message: 'name looks like a placeholder' }],
    });
    assert.deepEqual(history.get(id)!.reasons, [{ check: 'name', message: 'name looks like a placeholder' }]);
  });

  it('When more orders arrive than the limit, then the oldest are forgotten', () => {
    const history = createOrderHistory(2);
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    for (const id of ids) history.apply(change(id, 'accepted', 0));
    assert.equal(history.size, 2);
    assert.equal(history.get(ids[0]!), undefined);
    assert.ok(history.get(ids[2]!));
  });
});
