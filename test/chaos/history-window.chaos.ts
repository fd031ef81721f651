import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, before, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import type { Message } from 'kafkajs';
import { ensureTopics } from '../../common/kafka/client.ts';
import { outgoing } from '../../common/kafka/publish.ts';
import { ALL_TOPICS, historyWindow, ordersStatus } from '../../common/topics/index.ts';
import type { OrderStatusChange } from '../../common/topics/index.ts';
import { startLocalBroker } from '../../tools/local-kafka/cluster.ts';
import { startTraceReceiver } from '../support/trace-receiver.ts';
import type { TraceReceiver } from '../support/trace-receiver.ts';
import type { LocalBroker } from '../../tools/local-kafka/cluster.ts';
import { spawnService } from '../../tools/start/spawn-service.ts';
import type { ServiceName, ServiceProcess } from '../../tools/start/spawn-service.ts';

// A restaurant that has been open a long time: a million status changes in orders.status, most of them older than
// the history window, and 420 000 (105 000 orders) within it. Every service must still start reading only the window,
// with bounded memory, holding the newest 100 000 orders.
const OLD = 580_000;
const RECENT = 420_000;
const STATUSES = ['accepted', 'validated', 'cooking', 'ready'] as const;

let broker: LocalBroker;
let receiver: TraceReceiver | undefined;
let kafka: Kafka;
const services: ServiceProcess[] = [];
const oldOrder = randomUUID();
const recentOrder = randomUUID();

/**
 * `count` status messages, four per order, timestamped `at`; `orderId` is the first order's id. Each as a service
 * sends it: the topic's encoding and `content-type` header (`outgoing`), the station's `startedAt`, and a
 * `traceparent` in the order's trace — kafkajs decodes every header of every record, so header-less messages
 * would make the start look quicker than it is.
 */
function statusMessages(count: number, at: number, orderId: string = randomUUID()): Message[] {
  const messages: Message[] = [];
  const time = new Date(at).toISOString();
  for (let i = 0, id: string = orderId, traceId = ''; i < count; i++) {
    if (i > 0 && i % STATUSES.length === 0) id = randomUUID();
    if (i % STATUSES.length === 0) traceId = randomBytes(16).toString('hex');
    const status = STATUSES[i % STATUSES.length]!;
    const change: OrderStatusChange = {
      orderId: id,
      channel: 'online',
      status,
      at: time,
      ...(status === 'accepted' ? {} : { startedAt: time }),
    };
    const { message } = outgoing(ordersStatus, change);
    const traceparent = `00-${traceId}-${randomBytes(8).toString('hex')}-01`;
    messages.push({ ...message, headers: { ...message.headers, traceparent }, timestamp: String(at) });
  }
  return messages;
}

/** Writes `count` status messages timestamped `at`; `firstOrder` is the first order's id, `lastOrder` the last's. */
async function fill(
  count: number,
  at: number,
  { firstOrder, lastOrder }: { firstOrder?: string; lastOrder?: string },
): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  try {
    // 10 000 at a time: a partition's share of a send must stay under the broker's 1 MB message limit.
    for (let sent = 0; sent < count; sent += 10_000) {
      const size = Math.min(10_000, count - sent);
      const last = sent + size >= count;
      const messages = statusMessages(
        size - (last && lastOrder ? STATUSES.length : 0),
        at,
        sent === 0 ? firstOrder : undefined,
      );
      if (last && lastOrder) messages.push(...statusMessages(STATUSES.length, at, lastOrder));
      await producer.send({ topic: ordersStatus.name, acks: 1, messages });
    }
  } finally {
    await producer.disconnect();
  }
}

const followerGroups = async () => {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.listGroups()).groups.map((g) => g.groupId).filter((id) => id.startsWith('ituna-follower-'));
  } finally {
    await admin.disconnect();
  }
};

const memoryMb = async (pid: number) => {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
};

before(async () => {
  receiver = await startTraceReceiver();
  broker = await startLocalBroker();
  kafka = new Kafka({ clientId: 'history-window-test', brokers: [broker.brokers], logLevel: logLevel.NOTHING });
  await ensureTopics(kafka, ALL_TOPICS);
  const filling = performance.now();
  await fill(OLD, Date.now() - 2 * 3_600_000, { lastOrder: oldOrder });
  await fill(RECENT, Date.now(), { lastOrder: recentOrder });
  console.log(
    `history: ${OLD + RECENT} status messages written in ${((performance.now() - filling) / 1000).toFixed(1)} s (${OLD} two hours old, ${RECENT} new)`,
  );
});
after(async () => {
  await Promise.all(services.map((s) => s.stop()));
  await broker?.stop();
  await receiver?.close();
});

it('When orders.status holds a million messages, then every service reads only the window and is ready with bounded memory, an order older than the window is a 404 that says so, and no follower group remains after they stop', {
  timeout: 300_000,
}, async () => {
  const env = {
    KAFKA_BROKERS: broker.brokers,
    // Traced, as the services run: tracing loads its SDK and hooks at start, and the gateway reads each order's trace
    // id from its statuses' headers.
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver!.url,
    PORT: '0',
    LOG_LEVEL: 'info',
    ITUNA_HISTORY_WINDOW: '1h',
  };
  const readyIn: Record<string, number> = {};
  // One at a time, so each is timed on its own rather than against the others for the machine's cores.
  let gatewayUrl = '';
  for (const name of ['validation', 'kitchen', 'gateway'] as ServiceName[]) {
    const started = performance.now();
    const service = spawnService(name, env);
    services.push(service);
    const url = await service.ready;
    readyIn[name] = performance.now() - started;
    if (name === 'gateway') gatewayUrl = url!;
  }
  const peaks = Object.fromEntries(
    await Promise.all(services.map(async (s) => [s.name, await memoryMb(s.child.pid!)] as const)),
  );
  const caughtUp = services.flatMap((s) =>
    s.lines
      .filter((line) => line.includes('caught up with the'))
      .map((line) => {
        const { msg, ms, rssMb, orders, readyOrders, handledOrders, messages } = JSON.parse(line);
        return { name: s.name, msg, ms, rssMb, messages, orders: orders ?? readyOrders ?? handledOrders };
      }),
  );
  console.log(
    `history: ready in ${Object.entries(readyIn)
      .map(([name, ms]) => `${name} ${(ms / 1000).toFixed(2)} s`)
      .join(', ')}; peak memory ${Object.entries(peaks)
      .map(([name, mb]) => `${name} ${mb.toFixed(0)} MB`)
      .join(', ')}`,
  );
  console.log(
    `history: ${caughtUp.map(({ name, msg, ...figures }) => `${name}: ${msg} ${JSON.stringify(figures)}`).join('; ')}`,
  );

  // How long a start takes is the machine's as much as the code's (2.8–4.3 s on one day, 5–7 s on a slower one), so
  // the figure is printed against the 5 s target and what is asserted is its cause: each view reads the window, not
  // the topic (580 000 older messages stay unread), so that its start does not grow with the topic's age.
  console.log(
    `history: ready within the 5 s target: ${Object.entries(readyIn)
      .map(([name, ms]) => `${name} ${ms <= 5000 ? 'yes' : 'no'}`)
      .join(', ')}`,
  );
  for (const { name, messages } of caughtUp)
    assert.ok(messages <= RECENT, `${name} read ${messages} messages, more than the window holds`);
  for (const [name, ms] of Object.entries(readyIn))
    assert.ok(ms <= 30_000, `${name} took ${(ms / 1000).toFixed(2)} s to be ready`);
  // Bounded by the window's caps, not by the topic (without them the gateway would hold 250 000 orders), and by V8's
  // heap growth held tight while reading history: 130–150 MB measured, 190–250 MB without (the target is 150 MB).
  for (const [name, mb] of Object.entries(peaks)) assert.ok(mb <= 180, `${name} peaked at ${mb.toFixed(0)} MB`);
  for (const { name, orders } of caughtUp)
    assert.ok(orders <= historyWindow(3_600_000).maxOrders, `${name} holds ${orders} orders`);
  // The window's 105 000 orders are more than a view keeps: a restarted gateway holds the newest 100 000.
  assert.equal(caughtUp.find((c) => c.name === 'gateway')?.orders, 100_000);

  const old = await fetch(`${gatewayUrl}/orders/${oldOrder}`);
  assert.equal(old.status, 404);
  const { error } = (await old.json()) as { error: { code: string; message: string } };
  assert.equal(error.code, 'not_found');
  assert.match(error.message, /keeps the last 1 h of orders \(ITUNA_HISTORY_WINDOW\)/);
  const recent = await fetch(`${gatewayUrl}/orders/${recentOrder}`);
  assert.equal(recent.status, 200);
  const order = (await recent.json()) as { status: string; traceId?: string };
  assert.equal(order.status, 'ready');
  // Read from the messages' traceparent headers, as the history does at start.
  assert.match(order.traceId ?? '', /^[0-9a-f]{32}$/);

  assert.ok((await followerGroups()).length >= 3, 'the running services follow orders.status and ituna.control');
  const codes = await Promise.all(services.splice(0).map((s) => s.stop()));
  assert.deepEqual(codes, [0, 0, 0]);
  assert.deepEqual(await followerGroups(), [], 'follower groups left behind');
});
