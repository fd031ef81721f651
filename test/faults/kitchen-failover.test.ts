import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type { Kafka, Producer } from 'kafkajs';
import { testKafka } from '../support/broker.ts';
import { kitchenFailoverRound } from '../support/kitchen-failover.ts';
import { startTraceReceiver } from '../support/trace-receiver.ts';
import type { TraceReceiver } from '../support/trace-receiver.ts';

// Several kitchens are safe by default: one killed under load, none of its orders ready twice or lost.
// `npm run test:cluster` repeats the round (test/chaos/kitchen-failover.chaos.ts).
let brokers: string;
let kafka: Kafka;
let producer: Producer;
let receiver: TraceReceiver;

before(async () => {
  ({ brokers, kafka, producer } = await testKafka('kitchen-failover-test'));
  receiver = await startTraceReceiver();
});
after(async () => {
  await producer?.disconnect();
  await receiver?.close();
});

it('When one of two kitchens with default settings is SIGKILLed under load, then every order is ready once, and only an order it had on the stove is cooked again', {
  timeout: 180_000,
}, async (t) => {
  const round = await kitchenFailoverRound({ brokers, kafka, producer, receiver });
  t.diagnostic(JSON.stringify({ ...round, lost: round.lost.length, readyTwice: round.readyTwice.length }));
  assert.deepEqual(round.lost, [], 'orders never ready');
  assert.deepEqual(round.readyTwice, [], 'orders ready twice');
  assert.deepEqual(round.cookedTwiceUnexplained, [], 'orders cooked twice that the killed kitchen was not cooking');
});
