import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { OrderStatus } from '../../common/restaurant/order.ts';
import { createOrderHistory } from '../../gateway/order-history.ts';
import { retainedMb } from '../support/memory.ts';

const change = (orderId: string, status: OrderStatus, second: number) => ({
  orderId,
  channel: 'online' as const,
  status,
  at: new Date(Date.UTC(2026, 0, 1, 12, 0, second)).toISOString(),
});

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

describe('order history', () => {
  it('When statuses arrive in order, then the order moves through each with its time', () => {
    const history = createOrderHistory();
    const id = randomUUID();
    for (const [i, status] of (['accepted', 'validated', 'cooking', 'ready'] as const).entries())
      history.apply(change(id, status, i), { traceId: TRACE });
    const order = history.get(id)!;
    assert.equal(order.status, 'ready');
    assert.equal(order.traceId, TRACE);
    assert.deepEqual(
      order.history.map((h) => h.status),
      ['accepted', 'validated', 'cooking', 'ready'],
    );
  });

  it('When statuses come with a trace id to read, then it is read until the order has one, not once per status', () => {
    const history = createOrderHistory();
    const id = randomUUID();
    const asked: OrderStatus[] = [];
    for (const [i, status] of (['accepted', 'validated', 'cooking', 'ready'] as const).entries())
      history.apply(change(id, status, i), {
        get traceId() {
          asked.push(status);
          // The first message came from an untraced producer: the next one's trace is kept.
          return i === 0 ? undefined : TRACE;
        },
      });
    assert.deepEqual(asked, ['accepted', 'validated']);
    assert.equal(history.get(id)!.traceId, TRACE);
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

  it('When the ring has gone round many times, then exactly the newest orders are found, whatever case they are asked in', () => {
    const history = createOrderHistory(1000);
    const ids = Array.from({ length: 7000 }, () => randomUUID());
    for (const id of ids) history.apply(change(id, 'accepted', 0));
    assert.equal(history.size, 1000);
    assert.equal(ids.slice(0, 6000).filter((id) => history.get(id)).length, 0);
    assert.deepEqual(
      ids.slice(6000).map((id) => history.get(id.toUpperCase())?.orderId),
      ids.slice(6000),
    );
    assert.equal(history.get('not-a-uuid'), undefined);
  });
});

describe('order history at its cap', () => {
  it('When an order is forgotten, then the order that takes its place starts clean', () => {
    const history = createOrderHistory(1);
    const [first, second] = [randomUUID(), randomUUID()];
    history.apply(
      { ...change(first, 'rejected', 1), reasons: [{ check: 'name', message: 'placeholder' }] },
      { traceId: TRACE },
    );
    history.apply(change(second, 'accepted', 2));
    assert.equal(history.get(first), undefined);
    assert.deepEqual(history.get(second), {
      orderId: second,
      channel: 'online',
      status: 'accepted',
      history: [{ status: 'accepted', at: change(second, 'accepted', 2).at }],
    });
  });

  it('When it holds 100 000 orders, each with four statuses, a trace id and half with a request hash, then it takes under 20 MB', async () => {
    // A gateway with a full history must fit in 150 MB with everything else it runs.
    const { mb, size } = await retainedMb(new URL('../support/full-records.ts', import.meta.url), 'fullOrderHistory');
    assert.equal(size, 100_000);
    console.log(`order history: 100 000 orders in ${mb.toFixed(1)} MB`);
    assert.ok(mb > 0 && mb < 20, `100 000 orders took ${mb.toFixed(1)} MB`);
  });
});
