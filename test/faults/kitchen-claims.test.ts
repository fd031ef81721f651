import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka } from 'kafkajs';
import type { Producer } from 'kafkajs';
import { readTopic } from '../../common/kafka/follower.ts';
import { kitchenTickets, ordersStatus } from '../../common/topics/index.ts';
import { spawnService } from '../../tools/start/spawn-service.ts';
import type { ServiceProcess } from '../../tools/start/spawn-service.ts';
import { testKafka } from '../support/broker.ts';
import { startTraceReceiver } from '../support/trace-receiver.ts';
import type { TraceReceiver } from '../support/trace-receiver.ts';

// Two kitchen replicas and one ticket, with the rebalance forced to happen while the ticket cooks.
let brokers: string;
let kafka: Kafka;
let producer: Producer;
let receiver: TraceReceiver;
const kitchens: ServiceProcess[] = [];

/** A kitchen replica; `fencing` undefined leaves ITUNA_KITCHEN_FENCING unset, as an operator would. */
const startKitchen = async (cook: string, fencing?: string) => {
  const kitchen = spawnService('kitchen', {
    KAFKA_BROKERS: brokers,
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_BSP_SCHEDULE_DELAY: '100',
    ITUNA_DELAYS: `cook=${cook}`,
    ITUNA_KITCHEN_CHEFS: '1',
    ITUNA_KITCHEN_FENCING: fencing,
  });
  kitchens.push(kitchen);
  await kitchen.ready;
  return kitchen;
};

/** The statuses orders.status holds for the order, as every reader of committed messages sees them. */
async function statusesOf(orderId: string): Promise<string[]> {
  return (await readTopic(kafka, ordersStatus.name))
    .filter((m) => m.key?.toString() === orderId)
    .map((m) => ordersStatus.decode(m.value).status);
}

async function until(what: string, condition: () => Promise<boolean>, timeoutMs = 40_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

async function placeTicket(): Promise<string> {
  const orderId = randomUUID();
  const value = JSON.stringify({
    orderId,
    channel: 'direct',
    ticketedAt: new Date().toISOString(),
    items: [{ menuItemId: 'edamame', quantity: 1 }],
  });
  await producer.send({ topic: kitchenTickets.name, acks: -1, messages: [{ key: orderId, value }] });
  return orderId;
}

const cookSpans = (orderId: string) =>
  receiver.spans().filter((s) => s.name === 'cook order' && s.attributes['ituna.order.id'] === orderId).length;

before(async () => {
  ({ brokers, kafka, producer } = await testKafka('kitchen-claims-test'));
  receiver = await startTraceReceiver();
});
after(async () => {
  for (const kitchen of kitchens) {
    if (kitchen.child.signalCode === null && kitchen.child.exitCode === null) kitchen.child.kill('SIGCONT');
  }
  await Promise.all(kitchens.map((k) => k.stop()));
  await producer?.disconnect();
  await receiver?.close();
});

it('When a kitchen freezes while it cooks and another takes its partition, then the frozen one, resumed, cannot report the order ready: it is ready once', {
  timeout: 120_000,
}, async () => {
  const frozen = await startKitchen('4000');
  const orderId = await placeTicket();
  await until('cooking to start', async () => (await statusesOf(orderId)).includes('cooking'));

  // Frozen mid-cook, it misses its heartbeats: the group drops it after the session timeout and gives its
  // partitions to the second kitchen, which cooks the ticket again, since it was never reported ready.
  frozen.child.kill('SIGSTOP');
  const successor = await startKitchen('20');
  await until('the successor to report the order ready', async () => (await statusesOf(orderId)).includes('ready'));

  // Resumed, the frozen kitchen finishes its dish and tries to report it: its transaction is fenced.
  frozen.child.kill('SIGCONT');
  assert.ok(
    await frozen.lineMatching((line) => line.includes('nothing of it is committed'), 40_000),
    'the resumed kitchen never found its claim gone',
  );
  await sleep(1000);
  assert.deepEqual(
    (await statusesOf(orderId)).filter((s) => s === 'ready'),
    ['ready'],
    'exactly one ready',
  );
  assert.equal(cookSpans(orderId), 2, 'the frozen kitchen finished its dish; nobody serves it');
  assert.ok(successor.lines.some((line) => line.includes('partition claimed')));
  await Promise.all([frozen.stop(), successor.stop()]);
});

it('When a kitchen is SIGKILLed while it cooks and a new one is added while the next ticket cooks, then each order is ready once', {
  timeout: 120_000,
}, async () => {
  const killed = await startKitchen('3000');
  const first = await placeTicket();
  await until('cooking to start', async () => (await statusesOf(first)).includes('cooking'));
  killed.child.kill('SIGKILL');

  const survivor = await startKitchen('3000');
  await until('the survivor to cook the first order', async () => (await statusesOf(first)).includes('ready'), 60_000);
  const second = await placeTicket();
  await until('cooking of the second order to start', async () => (await statusesOf(second)).includes('cooking'));
  // A kitchen joins while the survivor cooks: the group rebalances with the ticket in hand.
  const added = await startKitchen('20');
  await until('the second order to be ready', async () => (await statusesOf(second)).includes('ready'));
  // The survivor's dish is done once it reported the order ready or found its transaction fenced; a second
  // `ready` would be written then.
  assert.ok(
    await survivor.lineMatching(
      (l) => (l.includes('"msg":"order ready"') && l.includes(second)) || l.includes('nothing of it is committed'),
      30_000,
    ),
    'the survivor never finished the second order',
  );
  await sleep(1000);
  for (const orderId of [first, second]) {
    assert.deepEqual(
      (await statusesOf(orderId)).filter((s) => s === 'ready'),
      ['ready'],
      `exactly one ready for ${orderId}`,
    );
  }
  console.log(
    `cook order spans exported: first order ${cookSpans(first)} (the killed kitchen never exported its own), second order ${cookSpans(second)}`,
  );
  await Promise.all([survivor.stop(), added.stop()]);
});

it('When two kitchens share the tickets without fencing, then they warn that an order can be reported ready twice', {
  timeout: 120_000,
}, async () => {
  const warning = 'another kitchen replica shares the tickets, without fencing';
  const first = await startKitchen('20', 'off');
  const second = await startKitchen('20', 'off');
  await until('a kitchen to warn', async () =>
    [first, second].some((k) => k.lines.some((line) => line.includes(warning))),
  );
  const line = [first, second].flatMap((k) => k.lines).find((l) => l.includes(warning))!;
  assert.match(line, /unset ITUNA_KITCHEN_FENCING/);
  await Promise.all([first.stop(), second.stop()]);
});

it('When a kitchen starts with no fencing setting, then it fences: it claims the partition before it cooks', {
  timeout: 60_000,
}, async () => {
  const kitchen = await startKitchen('5');
  const orderId = await placeTicket();
  await until('the order to be ready', async () => (await statusesOf(orderId)).includes('ready'));
  assert.ok(
    kitchen.lines.some((line) => line.includes('partition claimed')),
    'no partition was claimed',
  );
  await kitchen.stop();
});
