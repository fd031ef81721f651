import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import pino from 'pino';
import { parseDelays } from '../../common/restaurant/delays.ts';
import type { Outgoing } from '../../common/kafka/publish.ts';
import { kitchenTickets, ordersStatus } from '../../common/topics/index.ts';
import type { KitchenTicket, OrderPlaced } from '../../common/topics/index.ts';
import type { WorkerContext } from '../../common/kafka/worker.ts';
import { cookTicket } from '../../workers/kitchen/worker.ts';
import type { Kitchen } from '../../workers/kitchen/worker.ts';
import { createChefs } from '../../workers/kitchen/chefs.ts';
import { validateOrder } from '../../workers/validation/worker.ts';
import { placedOrder } from '../support/fixtures.ts';

/** A handler context that keeps what the handler sends, decoded with the topics' own contracts. */
function collectingContext() {
  const sent: Array<{ topic: string; key: string; value: unknown }> = [];
  const contracts = { [kitchenTickets.name]: kitchenTickets, [ordersStatus.name]: ordersStatus } as const;
  const context: WorkerContext = {
    receivedAt: new Date().toISOString(),
    log: pino({ level: 'silent' }),
    send: async (messages: Outgoing[]) => {
      for (const { topic, message } of messages) {
        const contract = contracts[topic];
        assert.ok(contract, `unexpected topic ${topic}`);
        sent.push({ topic, key: String(message.key), value: contract.decode(message.value as Buffer) });
      }
      return messages.map((_, offset) => ({ partition: 0, offset }));
    },
  };
  return { sent, context };
}

/** A record of handled orders, as the workers keep it, without Kafka behind it. */
function handledSet() {
  const ids = new Set<string>();
  return {
    has: (id: string) => ids.has(id),
    add: (id: string, committing?: Promise<unknown>) => {
      ids.add(id);
      committing?.catch(() => ids.delete(id));
    },
  };
}

const noDelays = parseDelays('');
const order = (overrides: Partial<OrderPlaced> = {}): OrderPlaced => ({ ...placedOrder(randomUUID()), ...overrides });

describe('validateOrder', () => {
  it('When every check passes, then a kitchen ticket and a validated status are sent, keyed by the order', async () => {
    const { sent, context } = collectingContext();
    const placed = order();
    await validateOrder(placed, context, noDelays, handledSet());
    assert.deepEqual(
      sent.map((s) => [s.topic, s.key]),
      [
        ['kitchen.tickets', placed.orderId],
        ['orders.status', placed.orderId],
      ],
    );
    assert.deepEqual((sent[0]!.value as { items: unknown }).items, placed.items);
    assert.equal((sent[1]!.value as { status: string }).status, 'validated');
  });

  it('When checks fail, then only a rejected status is sent, with every reason', async () => {
    const { sent, context } = collectingContext();
    await validateOrder(
      order({ customerName: 'test', items: [{ menuItemId: 'unicorn-roll', quantity: 1 }] }),
      context,
      noDelays,
      handledSet(),
    );
    assert.equal(sent.length, 1);
    const status = sent[0]!.value as { status: string; reasons: Array<{ check: string }> };
    assert.equal(status.status, 'rejected');
    assert.deepEqual(
      status.reasons.map((r) => r.check),
      ['name', 'inventory'],
    );
  });

  it('When an on-site order has no address, then it is still valid', async () => {
    const { sent, context } = collectingContext();
    await validateOrder(
      order({ channel: 'onsite', deliveryAddress: undefined, table: 4 }),
      context,
      noDelays,
      handledSet(),
    );
    assert.equal(sent[0]!.topic, 'kitchen.tickets');
  });

  it('When the checks are slow, then they run at once rather than one after another', async () => {
    const { context } = collectingContext();
    const started = performance.now();
    await validateOrder(order(), context, parseDelays('address=60,name=60,inventory=60'), handledSet());
    const elapsed = performance.now() - started;
    assert.ok(elapsed < 170, `three 60 ms checks took ${elapsed.toFixed(0)} ms`);
  });

  it('When an order comes again after it was validated or rejected, then it is not validated again and nothing is sent', async () => {
    const { sent, context } = collectingContext();
    const handled = handledSet();
    const placed = order();
    await validateOrder(placed, context, noDelays, handled);
    await validateOrder(placed, context, noDelays, handled);
    assert.deepEqual(
      sent.map((s) => s.topic),
      ['kitchen.tickets', 'orders.status'],
    );
  });

  it('When validation is fenced, then its ticket and status are committed together, and an order whose commit fails is validated again when it comes back', async () => {
    const { context } = collectingContext();
    const commits: Array<{ topics: string[]; fail(): void }> = [];
    context.commit = (messages) =>
      new Promise((_, reject) =>
        commits.push({ topics: messages.map((m) => m.topic), fail: () => reject(new Error('fenced')) }),
      );
    const handled = handledSet();
    const placed = order();
    await validateOrder(placed, context, noDelays, handled);
    assert.deepEqual(
      commits.map((c) => c.topics),
      [['kitchen.tickets', 'orders.status']],
    );
    assert.ok(handled.has(placed.orderId), 'a redelivery while it commits finds it decided');
    commits[0]!.fail();
    await new Promise((r) => setImmediate(r));
    assert.equal(handled.has(placed.orderId), false, 'not committed: it must be validated when it comes back');
  });
});

/** A direct order's ticket for one edamame. */
const ticket = (orderId = randomUUID()): KitchenTicket => ({
  orderId,
  channel: 'direct',
  ticketedAt: new Date().toISOString(),
  items: [{ menuItemId: 'edamame', quantity: 1 }],
});

describe('cookTicket', () => {
  it('When a ticket is cooked, then cooking and then ready are reported and no chef stays busy', async () => {
    const { sent, context } = collectingContext();
    const kitchen: Kitchen = { chefs: createChefs(2), delays: noDelays, cooked: handledSet() };
    const orderId = randomUUID();
    await cookTicket(ticket(orderId), context, kitchen);
    assert.deepEqual(
      sent.map((s) => (s.value as { status: string }).status),
      ['cooking', 'ready'],
    );
    assert.equal(kitchen.chefs.busy, 0);
    assert.ok(kitchen.cooked.has(orderId));
  });

  it('When a ticket comes again after it was cooked, then nothing is cooked or reported twice', async () => {
    const { sent, context } = collectingContext();
    const kitchen: Kitchen = { chefs: createChefs(1), delays: noDelays, cooked: handledSet() };
    const again = ticket();
    await cookTicket(again, context, kitchen);
    await cookTicket(again, context, kitchen);
    assert.deepEqual(
      sent.map((s) => (s.value as { status: string }).status),
      ['cooking', 'ready'],
    );
  });

  it('When Kafka has not yet acknowledged cooking, then the chef cooks, but the ticket is done only once both are acknowledged', async () => {
    const { sent, context } = collectingContext();
    const acks: Array<() => void> = [];
    const record = context.send;
    context.send = (messages) => record(messages).then((d) => new Promise((resolve) => acks.push(() => resolve(d))));
    const kitchen: Kitchen = { chefs: createChefs(1), delays: noDelays, cooked: handledSet() };
    const orderId = randomUUID();
    let done = false;
    const cooked = cookTicket(ticket(orderId), context, kitchen).then(() => (done = true));
    for (let i = 0; i < 50 && acks.length < 2; i++) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(
      sent.map((s) => (s.value as { status: string }).status),
      ['cooking', 'ready'],
      'ready was sent without waiting for cooking to be acknowledged',
    );
    acks[1]!();
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(done, false, 'done before cooking was acknowledged');
    assert.equal(kitchen.cooked.has(orderId), false);
    acks[0]!();
    await cooked;
    assert.ok(kitchen.cooked.has(orderId));
  });

  it('When the kitchen is fenced, then ready is staged to come after cooking, and the chef moves on without waiting for either acknowledgement', async () => {
    const { sent, context } = collectingContext();
    const acks: Array<() => void> = [];
    const record = context.send;
    context.send = (messages) => record(messages).then((d) => new Promise((resolve) => acks.push(() => resolve(d))));
    // The partition's transaction is another producer's: it must wait for `cooking`, so `ready` comes after it.
    const commits: Array<{ after: Promise<unknown> | undefined; fail(): void }> = [];
    context.commit = (messages, after) =>
      record(messages).then(
        () => new Promise((_, reject) => commits.push({ after, fail: () => reject(new Error('fenced')) })),
      );
    const kitchen: Kitchen = { chefs: createChefs(1), delays: noDelays, cooked: handledSet() };
    const orderId = randomUUID();
    await cookTicket(ticket(orderId), context, kitchen);
    assert.deepEqual(
      sent.map((s) => (s.value as { status: string }).status),
      ['cooking', 'ready'],
    );
    assert.ok(kitchen.cooked.has(orderId), 'a redelivery while it commits finds it cooked');
    for (let i = 0; i < 50 && commits.length < 1; i++) await new Promise((r) => setTimeout(r, 5));
    let cookingAcknowledged = false;
    void commits[0]!.after?.then(() => (cookingAcknowledged = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(cookingAcknowledged, false, 'the transaction stopped waiting before cooking was acknowledged');
    acks[0]!();
    await commits[0]!.after;
    commits[0]!.fail();
    await new Promise((r) => setImmediate(r));
    assert.equal(kitchen.cooked.has(orderId), false, 'not committed: it is cooked again when it comes back');
  });

  it('When Kafka refuses the cooking status, then the ticket fails (to be delivered again) and is not counted as cooked', async () => {
    const { context } = collectingContext();
    const record = context.send;
    context.send = async (messages) => {
      if (
        messages.some(
          (m) => (ordersStatus.decode(m.message.value as Buffer) as { status: string }).status === 'cooking',
        )
      )
        throw new Error('not acknowledged');
      return record(messages);
    };
    const kitchen: Kitchen = { chefs: createChefs(1), delays: parseDelays('cook=20'), cooked: handledSet() };
    const refused = ticket();
    await assert.rejects(cookTicket(refused, context, kitchen), /not acknowledged/);
    assert.equal(kitchen.cooked.has(refused.orderId), false);
    assert.equal(kitchen.chefs.busy, 0);
  });
});

describe('chefs', () => {
  it('When more tickets arrive than chefs, then they wait in turn, and a bigger brigade takes the waiting ones at once', async () => {
    const chefs = createChefs(1);
    const first = await chefs.acquire();
    let secondStarted = false;
    let thirdStarted = false;
    const second = chefs.acquire().then((release) => {
      secondStarted = true;
      return release;
    });
    const third = chefs.acquire().then((release) => {
      thirdStarted = true;
      return release;
    });
    await new Promise((r) => setImmediate(r));
    assert.deepEqual([secondStarted, thirdStarted, chefs.busy], [false, false, 1]);
    chefs.resize(2);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual([secondStarted, thirdStarted, chefs.busy], [true, false, 2]);
    first();
    first();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual([thirdStarted, chefs.busy], [true, 2], 'releasing twice frees one chef only');
    (await second)();
    (await third)();
    assert.equal(chefs.busy, 0);
  });
});
