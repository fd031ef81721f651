import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type { Kafka, Producer } from 'kafkajs';
import { testKafka } from '../support/broker.ts';
import { kitchenFailoverRound } from '../support/kitchen-failover.ts';
import type { FailoverRound } from '../support/kitchen-failover.ts';
import { startTraceReceiver } from '../support/trace-receiver.ts';
import type { TraceReceiver } from '../support/trace-receiver.ts';

// The failover of test/faults/kitchen-failover.test.ts, round after round, to show the race is gone rather than rare.
const ROUNDS = 6;
let brokers: string;
let kafka: Kafka;
let producer: Producer;
let receiver: TraceReceiver;

before(async () => {
  ({ brokers, kafka, producer } = await testKafka('kitchen-failover-chaos'));
  receiver = await startTraceReceiver();
});
after(async () => {
  await producer?.disconnect();
  await receiver?.close();
});

it(`When one of two kitchens is SIGKILLed under load, ${ROUNDS} times over, then no order is ever lost or ready twice`, {
  timeout: ROUNDS * 120_000,
}, async (t) => {
  const rounds: FailoverRound[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const round = await kitchenFailoverRound({ brokers, kafka, producer, receiver }, { perSecond: 60, seconds: 8 });
    rounds.push(round);
    console.log(
      `kitchen failover round ${i + 1}: ${JSON.stringify({ ...round, lost: round.lost.length, readyTwice: round.readyTwice.length })}`,
    );
  }
  const sum = (pick: (r: FailoverRound) => number) => rounds.reduce((n, r) => n + pick(r), 0);
  t.diagnostic(
    `${ROUNDS} rounds, ${sum((r) => r.orders)} orders: lost ${sum((r) => r.lost.length)}, ready twice ${sum((r) => r.readyTwice.length)}, cooked again after the kill ${sum((r) => r.recooked)}`,
  );
  for (const round of rounds) {
    assert.deepEqual(round.lost, []);
    assert.deepEqual(round.readyTwice, []);
    assert.deepEqual(round.cookedTwiceUnexplained, []);
  }
});
