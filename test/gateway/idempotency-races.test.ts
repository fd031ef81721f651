import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ordersPlaced, ordersStatus } from '../../common/topics/index.ts';
import { spawnService } from '../../tools/start/spawn-service.ts';
import type { ServiceProcess } from '../../tools/start/spawn-service.ts';
import { testBrokers } from '../support/broker.ts';
import { onlineOrder } from '../support/fixtures.ts';
import { readTopicWithKcat } from '../support/kcat.ts';

// Clients retry while their first request is still in flight, and a load balancer spreads the retries: requests
// with one Idempotency-Key race, on one gateway and across replicas. Whatever the race, one key is one order.
let brokers: string;
const gateways: ServiceProcess[] = [];
const urls: string[] = [];

before(async () => {
  brokers = await testBrokers();
  for (let i = 0; i < 2; i++) {
    const gateway = spawnService('gateway', { KAFKA_BROKERS: brokers, OTEL_SDK_DISABLED: 'true', PORT: '0' });
    gateways.push(gateway);
  }
  urls.push(...((await Promise.all(gateways.map((g) => g.ready))) as string[]));
});
after(() => Promise.all(gateways.map((g) => g.stop())));

interface Answer {
  status: number;
  orderId?: string;
  replayed: boolean;
  code?: string;
}

/** Sends an order with a key as a client does: again after a 409 or 503 (Retry-After), until it has an answer. */
async function place(url: string, key: string, body: object): Promise<Answer> {
  for (let attempt = 0; ; attempt++) {
    const response = await fetch(`${url}/orders/online`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify(body),
    });
    const json = (await response.json()) as { orderId?: string; error?: { code: string } };
    if ((response.status === 409 || response.status === 503) && attempt < 40) {
      await sleep(250);
      continue;
    }
    return {
      status: response.status,
      orderId: json.orderId,
      replayed: response.headers.get('idempotent-replayed') === 'true',
      code: json.error?.code,
    };
  }
}

/** What Kafka holds for these order ids, read with kcat: orders.placed messages and `accepted` statuses per order. */
async function held(orderIds: Set<string>) {
  const placed = (await readTopicWithKcat(brokers, ordersPlaced.name)).filter((m) => orderIds.has(m.key));
  const accepted = (await readTopicWithKcat(brokers, ordersStatus.name)).filter(
    (m) => orderIds.has(m.key) && (JSON.parse(m.value) as { status: string }).status === 'accepted',
  );
  const count = (messages: Array<{ key: string }>) => {
    const byOrder = new Map<string, number>();
    for (const m of messages) byOrder.set(m.key, (byOrder.get(m.key) ?? 0) + 1);
    return byOrder;
  };
  return { placed, placedPer: count(placed), acceptedPer: count(accepted) };
}

const other = { ...onlineOrder, customerName: 'Hiro Yamada' };

for (const replicas of [1, 2] as const) {
  it(`When requests with one key race on ${replicas === 1 ? 'one gateway' : 'two gateways'}, with the same body and with another, then each key places one order once, and another body gets 422`, {
    timeout: 120_000,
  }, async () => {
    const sameBody = Array.from({ length: 12 }, () => randomUUID());
    const twoBodies = Array.from({ length: 6 }, () => randomUUID());
    const url = (i: number) => urls[i % replicas]!;
    const answers = await Promise.all([
      ...sameBody.flatMap((key) =>
        Array.from({ length: 6 }, (_, i) => place(url(i), key, onlineOrder).then((a) => ({ key, a, body: 'first' }))),
      ),
      ...twoBodies.flatMap((key) =>
        Array.from({ length: 4 }, (_, i) =>
          place(url(i), key, i % 2 ? other : onlineOrder).then((a) => ({ key, a, body: i % 2 ? 'other' : 'first' })),
        ),
      ),
    ]);

    for (const { key, a } of answers) assert.ok([202, 422].includes(a.status), `key ${key}: ${a.status} ${a.code}`);
    const idsOf = (key: string) =>
      new Set(answers.filter((x) => x.key === key && x.a.status === 202).map((x) => x.a.orderId));
    for (const key of [...sameBody, ...twoBodies]) assert.equal(idsOf(key).size, 1, `key ${key} named several orders`);
    for (const key of sameBody) {
      const mine = answers.filter((x) => x.key === key);
      assert.ok(
        mine.every((x) => x.a.status === 202),
        `key ${key}: ${mine.map((x) => x.a.status).join(',')}`,
      );
      assert.equal(mine.filter((x) => !x.a.replayed).length, 1, `key ${key}: one answer places, the others replay it`);
    }
    // Two bodies raced: one body won, every request with it heard 202, every request with the other 422.
    const winners = new Map<string, string>();
    for (const key of twoBodies) {
      const mine = answers.filter((x) => x.key === key);
      const won = mine.find((x) => x.a.status === 202)!.body;
      winners.set(key, won);
      for (const x of mine) assert.equal(x.a.status, x.body === won ? 202 : 422, `key ${key}, body ${x.body}`);
    }

    const orderIds = new Set(answers.flatMap((x) => (x.a.orderId ? [x.a.orderId] : [])));
    assert.equal(orderIds.size, sameBody.length + twoBodies.length);
    const { placed, placedPer, acceptedPer } = await held(orderIds);
    for (const id of orderIds) {
      assert.equal(placedPer.get(id), 1, `orders.placed holds order ${id} ${placedPer.get(id) ?? 0} times`);
      assert.equal(acceptedPer.get(id), 1, `orders.status holds ${acceptedPer.get(id) ?? 0} accepted for ${id}`);
    }
    // The body Kafka holds is the one that was answered 202.
    for (const key of twoBodies) {
      const id = [...idsOf(key)][0]!;
      const name = (JSON.parse(placed.find((m) => m.key === id)!.value) as { customerName: string }).customerName;
      assert.equal(name, winners.get(key) === 'other' ? other.customerName : onlineOrder.customerName);
    }
  });
}
