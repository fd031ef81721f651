import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel } from 'kafkajs';
import type { Producer } from 'kafkajs';
import { kitchenTickets, ordersStatus } from '../../common/topics/index.ts';
import { SHUTDOWN_GRACE_MS } from '../../common/service/process.ts';
import { spawnService } from '../../tools/start/spawn-service.ts';
import type { ServiceProcess } from '../../tools/start/spawn-service.ts';
import { testKafka } from '../support/broker.ts';
import { startTraceReceiver } from '../support/trace-receiver.ts';
import type { TraceReceiver } from '../support/trace-receiver.ts';

let brokers: string;
let producer: Producer;
let receiver: TraceReceiver;
const kitchens: ServiceProcess[] = [];

const startKitchen = async () => {
  const kitchen = spawnService('kitchen', {
    KAFKA_BROKERS: brokers,
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    ITUNA_DELAYS: 'cook=1500',
  });
  kitchens.push(kitchen);
  await kitchen.ready;
  return kitchen;
};

before(async () => {
  ({ brokers, producer } = await testKafka('sigterm-test'));
  receiver = await startTraceReceiver();
});
after(async () => {
  await Promise.all(kitchens.map((k) => k.stop()));
  await producer?.disconnect();
  await receiver?.close();
});

it('When the kitchen gets SIGTERM while cooking, then it finishes the order, commits, flushes its spans and exits in time', {
  timeout: 90_000,
}, async (t) => {
  const kitchen = await startKitchen();
  const orderId = randomUUID();
  // The kitchen announces `cooking` on orders.status when a chef starts: that is the moment to signal.
  const watcher = new Kafka({
    clientId: 'sigterm-watch',
    brokers: brokers.split(','),
    logLevel: logLevel.NOTHING,
  }).consumer({ groupId: `sigterm-watch-${randomUUID()}` });
  await watcher.connect();
  await watcher.subscribe({ topic: ordersStatus.name, fromBeginning: false });
  const joined = new Promise((resolve) => watcher.on(watcher.events.GROUP_JOIN, resolve));
  let cookingStarted: () => void = () => {};
  const cooking = new Promise<void>((resolve) => (cookingStarted = resolve));
  await watcher.run({
    eachMessage: async ({ message }) => {
      if (message.key?.toString() === orderId && ordersStatus.decode(message.value).status === 'cooking')
        cookingStarted();
    },
  });
  await joined;
  const ticket = {
    orderId,
    channel: 'direct',
    ticketedAt: new Date().toISOString(),
    items: [{ menuItemId: 'unagi-don', quantity: 1 }],
  };
  await producer.send({
    topic: kitchenTickets.name,
    acks: -1,
    messages: [{ key: orderId, value: JSON.stringify(ticket) }],
  });
  const ready = () => kitchen.lines.some((l) => l.includes('"msg":"order ready"') && l.includes(orderId));
  await cooking;
  await watcher.disconnect();
  assert.equal(ready(), false, 'the signal must arrive while the order is being cooked (1.5 s)');

  const signalled = performance.now();
  const code = await kitchen.stop('SIGTERM', SHUTDOWN_GRACE_MS + 5000);
  const exitMs = performance.now() - signalled;
  assert.equal(code, 0);
  assert.ok(exitMs < SHUTDOWN_GRACE_MS, `exit took ${exitMs.toFixed(0)} ms`);
  assert.ok(ready(), 'the order in hand was finished');
  // Spans are flushed before exit: they are here without waiting for the next batch.
  assert.ok(
    receiver.spans().some((s) => s.name === 'cook order' && s.attributes['ituna.order.id'] === orderId),
    'the cooking span arrived',
  );

  const again = await startKitchen();
  await sleep(2500);
  const cookedAgain = again.lines.some((l) => l.includes(orderId));
  assert.equal(cookedAgain, false, 'the committed ticket is not delivered again');
  t.diagnostic(
    `SIGTERM mid-cook → order finished, exit 0 after ${exitMs.toFixed(0)} ms (bound ${SHUTDOWN_GRACE_MS} ms)`,
  );
});
