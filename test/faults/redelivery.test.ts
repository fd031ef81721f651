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

let brokers: string;
let kafka: Kafka;
let producer: Producer;
let receiver: TraceReceiver;
let kitchen: ServiceProcess | undefined;

const startKitchen = async () => {
  kitchen = spawnService('kitchen', {
    KAFKA_BROKERS: brokers,
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_BSP_SCHEDULE_DELAY: '100',
    ITUNA_DELAYS: 'cook=5',
  });
  await kitchen.ready;
};

/** How many `ready` statuses orders.status holds for the order, read from the beginning by a plain consumer. */
async function readyCount(orderId: string): Promise<number> {
  const messages = await readTopic(kafka, ordersStatus.name);
  return messages.filter((m) => m.key?.toString() === orderId && ordersStatus.decode(m.value).status === 'ready')
    .length;
}

before(async () => {
  ({ brokers, kafka, producer } = await testKafka('redelivery-test'));
  receiver = await startTraceReceiver();
  await startKitchen();
});
after(async () => {
  await kitchen?.stop();
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
