import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka } from 'kafkajs';
import type { Producer } from 'kafkajs';
import { readTopic } from '../../common/kafka/follower.ts';
import { kitchenTickets, ordersPlaced, ordersStatus } from '../../common/topics/index.ts';
import { spawnService } from '../../tools/start/spawn-service.ts';
import type { ServiceProcess } from '../../tools/start/spawn-service.ts';
import { testKafka } from '../support/broker.ts';
import { placedOrder } from '../support/fixtures.ts';
import { startTraceReceiver } from '../support/trace-receiver.ts';
import type { TraceReceiver } from '../support/trace-receiver.ts';

let brokers: string;
let kafka: Kafka;
let producer: Producer;
let receiver: TraceReceiver;
let kitchen: ServiceProcess | undefined;
let validation: ServiceProcess | undefined;

const startKitchen = async () => {
  kitchen = spawnService('kitchen', {
    KAFKA_BROKERS: brokers,
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_BSP_SCHEDULE_DELAY: '100',
    ITUNA_DELAYS: 'cook=5',
  });
  await kitchen.ready;
};

const startValidation = async () => {
  validation = spawnService('validation', {
    KAFKA_BROKERS: brokers,
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_BSP_SCHEDULE_DELAY: '100',
    ITUNA_DELAYS: 'address=1,name=1,inventory=1',
  });
  await validation.ready;
};

/** How many statuses `status` orders.status holds for the order, read from the beginning by a plain consumer. */
async function statusCount(orderId: string, status: string): Promise<number> {
  const messages = await readTopic(kafka, ordersStatus.name);
  return messages.filter((m) => m.key?.toString() === orderId && ordersStatus.decode(m.value).status === status).length;
}
const readyCount = (orderId: string) => statusCount(orderId, 'ready');

before(async () => {
  ({ brokers, kafka, producer } = await testKafka('redelivery-test'));
  receiver = await startTraceReceiver();
  await startKitchen();
});
after(async () => {
  await Promise.all([kitchen?.stop(), validation?.stop()]);
  await producer?.disconnect();
  await receiver?.close();
});

it('When the same ticket arrives again, before and after a kitchen restart, then it is cooked once and the repeats are marked ituna.duplicate', async () => {
  const orderId = randomUUID();
  const ticket = {
    key: orderId,
    value: JSON.stringify({
      orderId,
      channel: 'direct',
      ticketedAt: new Date().toISOString(),
      items: [{ menuItemId: 'edamame', quantity: 1 }],
    }),
  };
  const duplicates = () =>
    receiver
      .spans()
      .filter((s) => s.attributes['ituna.order.id'] === orderId && s.attributes['ituna.duplicate'] === true);

  await producer.send({ topic: kitchenTickets.name, acks: -1, messages: [ticket] });
  await receiver.waitFor(
    (spans) => spans.some((s) => s.name === 'cook order' && s.attributes['ituna.order.id'] === orderId),
    { what: 'the first cooking' },
  );

  await producer.send({ topic: kitchenTickets.name, acks: -1, messages: [ticket] });
  await receiver.waitFor(() => duplicates().length === 1, { what: 'the redelivered ticket marked as a duplicate' });

  assert.equal(await kitchen!.stop(), 0);
  await producer.send({ topic: kitchenTickets.name, acks: -1, messages: [ticket] });
  await startKitchen();
  await receiver.waitFor(() => duplicates().length === 2, { what: 'the duplicate after a restart' });

  await sleep(300);
  assert.equal(await readyCount(orderId), 1, 'exactly one ready for the order');
  assert.equal(
    receiver.spans().filter((s) => s.name === 'cook order' && s.attributes['ituna.order.id'] === orderId).length,
    1,
    'cooked once',
  );
  assert.equal(duplicates()[0]!.name, 'process kitchen.tickets');
});

it('When the same placed order arrives again, before and after a validation restart, then it is validated once and sends one ticket', async () => {
  const orderId = randomUUID();
  const placed = { key: orderId, value: JSON.stringify(placedOrder(orderId)) };
  const duplicates = () =>
    receiver
      .spans()
      .filter(
        (s) =>
          s.name === 'process orders.placed' &&
          s.attributes['ituna.order.id'] === orderId &&
          s.attributes['ituna.duplicate'] === true,
      );
  await startValidation();
  await producer.send({ topic: ordersPlaced.name, acks: -1, messages: [placed, placed] });
  await receiver.waitFor(() => duplicates().length === 1, { what: 'the second delivery marked as a duplicate' });

  assert.equal(await validation!.stop(), 0);
  await producer.send({ topic: ordersPlaced.name, acks: -1, messages: [placed] });
  await startValidation();
  await receiver.waitFor(() => duplicates().length === 2, { what: 'the duplicate after a restart' });

  const tickets = (await readTopic(kafka, kitchenTickets.name)).filter((m) => m.key?.toString() === orderId);
  assert.equal(tickets.length, 1, 'one kitchen ticket for the order');
  assert.equal(await statusCount(orderId, 'validated'), 1, 'one validated status');
  assert.equal(
    receiver.spans().filter((s) => s.name === 'validate inventory' && s.attributes['ituna.order.id'] === orderId)
      .length,
    1,
    'validated once',
  );
});
