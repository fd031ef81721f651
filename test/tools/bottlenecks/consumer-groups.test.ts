import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import type { Consumer } from 'kafkajs';
import { ensureTopics, isKafkaFailure, untilKafkaAnswers } from '../../../common/kafka/client.ts';
import { freePort } from '../../../tools/start/ports.ts';
import { PIPELINE_GROUPS, readConsumerGroups, snapshotConsumerGroups } from '../../../tools/traces/consumer-groups.ts';
import { renderConsumerGroupsText } from '../../../tools/bottlenecks/text.ts';
import { renderHtml } from '../../../tools/bottlenecks/html.ts';
import { shortMemberId } from '../../../tools/traces/wording.ts';
import { analyzeTraces } from '../../../tools/traces/run-analysis.ts';
import { openTraceStore } from '../../../tools/tracestore/store.ts';
import { startTraceStoreServer } from '../../../tools/tracestore/server.ts';
import { CONSUMER_GROUPS } from '../../../workers/consumer-groups.ts';
import { testBrokers } from '../../support/broker.ts';

const quiet = { logLevel: logLevel.NOTHING };
let brokers: string;
let kafka: Kafka;

/** Waits until `check` holds, polling every 200 ms through Kafka's passing failures; fails with `what` after `limitMs`. */
async function until<T>(
  what: string,
  read: () => Promise<T>,
  check: (value: T) => boolean,
  limitMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const value = await read().catch((error: unknown) => {
      if (isKafkaFailure(error) && Date.now() < deadline) return undefined;
      throw error;
    });
    if (value !== undefined && check(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what} not reached after ${limitMs} ms: ${JSON.stringify(value)}`);
    await sleep(200);
  }
}

/** `count` messages to each partition named, sent at once. */
async function produce(topic: string, counts: Record<number, number>): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  try {
    const messages = Object.entries(counts).flatMap(([partition, count]) =>
      Array.from({ length: count }, (_, i) => ({
        partition: Number(partition),
        key: `order-${partition}-${i}`,
        value: '{}',
      })),
    );
    await producer.send({ topic, acks: -1, messages });
  } finally {
    await producer.disconnect();
  }
}

describe('the consumer groups part of the bottleneck report, read from a real broker', { timeout: 120_000 }, () => {
  before(async () => {
    brokers = await testBrokers();
    kafka = new Kafka({ brokers: [brokers], clientId: 'consumer-groups-test', ...quiet });
  });

  it('When the report reads the pipeline, then it reads the groups and topics the workers consume', () => {
    assert.deepEqual(PIPELINE_GROUPS, [
      { groupId: CONSUMER_GROUPS.validation.groupId, topic: 'orders.placed' },
      { groupId: CONSUMER_GROUPS.kitchen.groupId, topic: 'kitchen.tickets' },
    ]);
  });

  it('When three members share a two-partition topic and stop consuming while orders arrive, then each partition shows its lag and owner, and the third member is idle', async () => {
    const topic = `lag-${randomUUID()}`;
    const groupId = `lag-group-${randomUUID()}`;
    const neverJoined = `lag-nobody-${randomUUID()}`;
    const admin = kafka.admin();
    await admin.connect();
    after(async () => {
      await admin.deleteGroups([groupId]).catch(() => {});
      await admin.deleteTopics({ topics: [topic] }).catch(() => {});
      await admin.disconnect();
    });
    // A loaded broker may not know a topic it just created for a moment; the services retry that, and so does the test.
    await untilKafkaAnswers('creating the topic', () => ensureTopics(kafka, [{ name: topic, partitions: 2 }]), {
      limitMs: 30_000,
    });
    await produce(topic, { 0: 3, 1: 2 });

    // Three validation replicas; each says which partitions it got when it joined.
    const owned = new Map<string, { memberId: string; partitions: number[] }>();
    const consumers: Consumer[] = [];
    after(() => Promise.all(consumers.map((c) => c.disconnect().catch(() => {}))));
    let consumed = 0;
    for (const clientId of ['validation-a', 'validation-b', 'validation-c']) {
      const consumer = new Kafka({ brokers: [brokers], clientId, ...quiet }).consumer({
        groupId,
        sessionTimeout: 10_000,
        heartbeatInterval: 500,
        maxWaitTimeInMs: 200,
      });
      consumers.push(consumer);
      consumer.on(consumer.events.GROUP_JOIN, ({ payload }) =>
        owned.set(clientId, { memberId: payload.memberId, partitions: payload.memberAssignment[topic] ?? [] }),
      );
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({ eachMessage: async () => void consumed++ });
    }
    const stable = await until(
      'a stable group of three that consumed and committed everything',
      async () => (await readConsumerGroups(kafka, [{ groupId, topic }]))[0]!,
      (g) =>
        g.state === 'Stable' &&
        g.members.length === 3 &&
        g.lag === 0 &&
        consumed >= 5 &&
        g.partitions.every((p) => p.owner),
    );
    assert.deepEqual(
      stable.partitions.map((p) => [p.partition, p.committed, p.end, p.lag]),
      [
        [0, 3, 3, 0],
        [1, 2, 2, 0],
      ],
    );

    // Stop consuming (the members stay in the group), then orders keep arriving.
    for (const consumer of consumers) consumer.pause([{ topic }]);
    await produce(topic, { 0: 4, 1: 1 });
    const [lagging, nobody] = await untilKafkaAnswers(
      'reading the groups',
      () =>
        readConsumerGroups(kafka, [
          { groupId, topic },
          { groupId: neverJoined, topic },
        ]),
      { limitMs: 30_000 },
    );

    const ownerOf = (partition: number) => [...owned].find(([, o]) => o.partitions.includes(partition))?.[0];
    const idleClient = [...owned].find(([, o]) => o.partitions.length === 0)?.[0];
    assert.ok(ownerOf(0) && ownerOf(1) && idleClient, `assignments seen by the members: ${JSON.stringify([...owned])}`);
    assert.equal(lagging!.state, 'Stable');
    assert.deepEqual(
      lagging!.partitions.map((p) => ({
        partition: p.partition,
        committed: p.committed,
        end: p.end,
        lag: p.lag,
        owner: p.owner?.clientId,
        member: p.owner?.memberId,
      })),
      [0, 1].map((partition) => ({
        partition,
        committed: [3, 2][partition],
        end: [7, 3][partition],
        lag: [4, 1][partition],
        owner: ownerOf(partition),
        member: owned.get(ownerOf(partition)!)!.memberId,
      })),
    );
    assert.equal(lagging!.lag, 5);
    assert.deepEqual(
      lagging!.idle.map((m) => [m.clientId, m.memberId]),
      [[idleClient, owned.get(idleClient!)!.memberId]],
    );
    assert.match(lagging!.idle[0]!.host, /^\d+\.\d+\.\d+\.\d+$|^[\w:.-]+$/);

    // What an operator reads.
    const text = renderConsumerGroupsText({ brokers, snapshot: { available: true, groups: [lagging!, nobody!] } });
    const row = (partition: number, committed: string, end: number, lag: string) =>
      new RegExp(
        `^${partition} +${committed} +${end} +${lag.replace('*', '\\*')} +${ownerOf(partition) ?? '—'}\\b`,
        'm',
      );
    assert.match(
      text,
      new RegExp(
        `^${groupId} on ${topic}: 3 members for 2 partitions: more members than partitions; lag 5 messages$`,
        'm',
      ),
    );
    assert.match(text, row(0, '3', 7, '4'));
    assert.match(text, row(1, '2', 3, '1'));
    const idleMember = lagging!.idle[0]!;
    assert.match(
      text,
      new RegExp(
        `^Idle, owning no partition .*:\\n  ${idleClient} at ${idleMember.host.replace(/\./g, '\\.')}, member ${shortMemberId(idleMember)}$`,
        'm',
      ),
    );
    assert.equal(shortMemberId(idleMember).length, 8);

    // A group that never committed: lag runs from each partition's start, and the report says so.
    assert.equal(nobody!.state, 'Dead');
    assert.deepEqual(
      nobody!.partitions.map((p) => [p.committed, p.lag, p.fromStart, p.owner]),
      [
        [undefined, 7, true, undefined],
        [undefined, 3, true, undefined],
      ],
    );
    assert.match(
      text,
      new RegExp(
        `^${neverJoined} on ${topic}: no such group: nothing has joined it yet, or its offsets expired; lag 10 messages$`,
        'm',
      ),
    );
    assert.match(text, /^0 +— +7 +7\* +—$/m);
    assert.match(text, /^\* no committed offset yet: lag counted from the partition's start offset/m);

    const html = renderHtml(analyzeTraces([]), 'test', {
      consumerGroups: { brokers, snapshot: { available: true, groups: [lagging!] } },
    });
    assert.match(html, new RegExp(`<td>0</td><td>3</td><td>7</td><td>4</td><td class="name">${ownerOf(0)}</td>`));
    assert.match(html, new RegExp(`title="${idleMember.memberId}">${shortMemberId(idleMember)}</td>`));

    // Every member gone: the group is empty, its offsets kept, no owner, nobody idle.
    await Promise.all(consumers.splice(0).map((c) => c.disconnect()));
    const empty = await until(
      'an empty group',
      async () => (await readConsumerGroups(kafka, [{ groupId, topic }]))[0]!,
      (g) => g.state === 'Empty',
    );
    assert.deepEqual(
      empty.partitions.map((p) => [p.committed, p.lag, p.owner]),
      [
        [3, 4, undefined],
        [2, 1, undefined],
      ],
    );
    assert.deepEqual(empty.idle, []);
    assert.match(
      renderConsumerGroupsText({ brokers, snapshot: { available: true, groups: [empty] } }),
      /: no member: nothing consumes it now \(its committed offsets are kept\); lag 5 messages\n/,
    );
  });

  it('When a group reads a topic that does not exist, then the report says the topic is missing rather than failing', async () => {
    const absent = [{ groupId: `nobody-${randomUUID()}`, topic: `absent-${randomUUID()}` }];
    const [group] = await untilKafkaAnswers('reading the group', () => readConsumerGroups(kafka, absent), {
      limitMs: 30_000,
    });
    assert.equal(group!.missingTopic, true);
    assert.match(
      renderConsumerGroupsText({ brokers, snapshot: { available: true, groups: [group!] } }),
      /: the topic does not exist yet \(a service creates it when it starts\)$/,
    );
  });

  it('When Kafka is down or does not answer, then the snapshot says so within its time bound', async () => {
    // Nothing listens on one port; the other accepts connections and never answers.
    const closedPort = await freePort();
    const sockets = new Set<Socket>();
    const mute = createServer((socket) => void sockets.add(socket));
    mute.listen(0, '127.0.0.1');
    await once(mute, 'listening');
    after(() => {
      for (const socket of sockets) socket.destroy();
      mute.close();
    });
    const patient = { retry: { retries: 1, initialRetryTime: 100 }, connectionTimeout: 500, requestTimeout: 1500 };
    for (const port of [closedPort, (mute.address() as AddressInfo).port]) {
      const started = Date.now();
      const snapshot = await snapshotConsumerGroups(
        new Kafka({ brokers: [`127.0.0.1:${port}`], ...quiet, ...patient }),
        { timeoutMs: 3000 },
      );
      const tookMs = Date.now() - started;
      assert.equal(snapshot.available, false);
      assert.ok(tookMs < 4500, `took ${tookMs} ms`);
      const text = renderConsumerGroupsText({ brokers: `127.0.0.1:${port}`, snapshot });
      assert.match(
        text,
        new RegExp(
          `^Consumer groups \\(Kafka at 127\\.0\\.0\\.1:${port}\\): unavailable — .+\\. The report above comes from the traces alone\\.$`,
        ),
      );
    }
  });

  it("When `npm run bottlenecks` runs, then it prints the pipeline's groups after the traces, or says within seconds that Kafka is unavailable", async (t) => {
    const store = await startTraceStoreServer(await openTraceStore(), { otlpPort: 0, queryPort: 0 });
    after(() => store.close());
    const report = async (kafkaBrokers: string) => {
      const started = Date.now();
      const { stdout } = await promisify(execFile)(process.execPath, ['tools/bottlenecks/main.ts', '--since', '1m'], {
        cwd: new URL('../../..', import.meta.url).pathname,
        env: { ...process.env, JAEGER_QUERY_URL: store.queryUrl, KAFKA_BROKERS: kafkaBrokers },
        timeout: 30_000,
      });
      return { stdout, tookMs: Date.now() - started };
    };
    const reachable = await report(brokers);
    t.diagnostic(reachable.stdout);
    assert.match(reachable.stdout, /^ITuna bottleneck report — last 1m$/m);
    assert.match(
      reachable.stdout,
      new RegExp(`^Consumer groups \\(Kafka at ${brokers}; lag = log end − committed offset, per partition\\):$`, 'm'),
    );
    for (const { groupId, topic } of PIPELINE_GROUPS)
      assert.match(reachable.stdout, new RegExp(`^${groupId} on ${topic}: `, 'm'));

    const closed = `127.0.0.1:${await freePort()}`;
    const unreachable = await report(closed);
    t.diagnostic(unreachable.stdout);
    assert.match(unreachable.stdout, /^ITuna bottleneck report — last 1m$/m, 'the traces part is printed');
    assert.match(unreachable.stdout, new RegExp(`^Consumer groups \\(Kafka at ${closed}\\): unavailable — .+$`, 'm'));
    assert.ok(unreachable.tookMs < 15_000, `the report took ${unreachable.tookMs} ms without Kafka`);
  });

  it('When KAFKA_BROKERS is malformed, then the report refuses it the way the services do, naming the variable', async () => {
    const failure = await promisify(execFile)(process.execPath, ['tools/bottlenecks/main.ts', '--since', '1m'], {
      cwd: new URL('../../..', import.meta.url).pathname,
      env: { ...process.env, KAFKA_BROKERS: 'no port here' },
      timeout: 30_000,
    }).then(
      () => assert.fail('the report ran with a malformed KAFKA_BROKERS'),
      (error: { code: number; stderr: string }) => error,
    );
    assert.equal(failure.code, 2);
    assert.match(failure.stderr, /KAFKA_BROKERS must be a comma-separated list of host:port/);
  });
});
