import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import {
  Consumer as PltConsumer,
  FetchIsolationLevels,
  Producer as PltProducer,
  compatibilityPartitioner,
  stringSerializer,
} from '@platformatic/kafka';
import type { Kafka } from 'kafkajs';
import { FETCH_WAIT_MS, createKafka, createProducer, ensureTopics } from '../../common/kafka/client.ts';
import { readTopic } from '../../common/kafka/follower.ts';
import { groupCommit, sendAcknowledged } from '../../common/kafka/publish.ts';
import type { Outgoing } from '../../common/kafka/publish.ts';
import { createLogger } from '../../common/logger.ts';
import { ordersPlaced } from '../../common/topics/index.ts';
import { exampleOnlineOrder } from '../../gateway/schemas.ts';
import { startLocalBroker, startLocalCluster } from '../local-kafka/cluster.ts';
import type { LocalCluster } from '../local-kafka/cluster.ts';
import { exitOnProblems, runForResult, showSpread, wholeNumberProblem } from './measure.ts';

// `npm run bench:clients [-- --rounds 5] [--messages 50000] [--callers 200] [--seconds 30]`: what the Kafka client
// costs per message sent and received, kafkajs against @platformatic/kafka, each in a fresh child process per round so
// CPU is counted per process (`--seconds` bounds each child). `npm run bench:clients -- --broker-loss [--rate 200]`:
// each client sends through the SIGKILL of one broker of three. @platformatic/kafka is used here only; every service
// keeps kafkajs.
const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    messages: { type: 'string', default: '50000' },
    callers: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '30' },
    'broker-loss': { type: 'boolean', default: false },
    rate: { type: 'string', default: '200' },
    // What a child process is asked to do; set only by this script for its children.
    child: { type: 'string' },
    client: { type: 'string' },
    brokers: { type: 'string' },
    topic: { type: 'string' },
  },
});
const CLIENTS = ['kafkajs', 'platformatic'] as const;
type Client = (typeof CLIENTS)[number];
const NAMES: Record<Client, string> = { kafkajs: 'kafkajs', platformatic: '@platformatic/kafka' };

const rounds = Number(values.rounds);
const count = Number(values.messages);
const callers = Number(values.callers);
const seconds = Number(values.seconds);
const rate = Number(values.rate);
exitOnProblems([
  ...wholeNumberProblem('rounds', rounds, 1, 10),
  ...wholeNumberProblem('messages', count, 1000, 500_000),
  ...wholeNumberProblem('callers', callers, 1, 2000),
  ...wholeNumberProblem('seconds', seconds, 5, 120),
  ...wholeNumberProblem('rate', rate, 10, 2000),
]);

// The headers every message of the services carries; the trace context is a fixed one (the SDK is not loaded here).
const HEADERS = {
  'content-type': 'application/json',
  traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
};

/**
 * `n` messages the size of an order for `topic` (an orders.placed value, about 300 bytes of JSON, keyed by its order
 * id), built before any measurement starts: one encoded through the topic's contract, the others by its id.
 */
function orders(n: number, topic: string): Outgoing[] {
  const first = randomUUID();
  const template = ordersPlaced
    .encode({ orderId: first, channel: 'online', placedAt: new Date().toISOString(), ...exampleOnlineOrder })
    .toString();
  return Array.from({ length: n }, () => {
    const orderId = randomUUID();
    return { topic, message: { key: orderId, value: Buffer.from(template.replace(first, orderId)), headers: HEADERS } };
  });
}

const log = createLogger('bench-clients', 'warn', process.stderr);

/**
 * The services' group commit (what callers hand over while a produce request is in flight goes as the next one) over
 * an idempotent producer sending with acks from all in-sync replicas: for kafkajs the services' own produce request
 * (`sendAcknowledged`, which sends again what Kafka did not acknowledge), for @platformatic/kafka its `send` with the
 * Java client's partitioner, so a key lands on the partition it does with kafkajs. Counts the produce requests.
 */
async function openPublisher(
  client: Client,
  brokers: string[],
): Promise<{ publish(order: Outgoing): Promise<unknown>; requests(): number; close(): Promise<void> }> {
  let requests = 0;
  if (client === 'kafkajs') {
    const producer = createProducer(createKafka('bench-clients', brokers, log));
    await producer.connect();
    const publish = groupCommit((messages) => {
      requests++;
      return sendAcknowledged((batch) => producer.sendBatch(batch), messages);
    });
    return { publish: (order) => publish([order]), requests: () => requests, close: () => producer.disconnect() };
  }
  const producer = new PltProducer<string, Buffer, string, string>({
    clientId: 'bench-clients',
    bootstrapBrokers: brokers,
    idempotent: true,
    acks: -1,
    partitioner: compatibilityPartitioner,
    serializers: { key: stringSerializer, headerKey: stringSerializer, headerValue: stringSerializer },
  });
  await producer.initIdempotentProducer({});
  const publish = groupCommit(async (messages) => {
    requests++;
    await producer.send({
      messages: messages.map(({ topic, message }) => ({
        topic,
        key: String(message.key),
        value: message.value as Buffer,
        headers: message.headers as Record<string, string>,
      })),
    });
    // It answers a base offset per partition, not where each message went: the benchmark needs neither.
    return [];
  });
  return { publish: (order) => publish([order]), requests: () => requests, close: () => producer.close(true) };
}

/**
 * A consumer group reading `topic` from its beginning (committed messages only), every message through `onMessage`
 * one at a time: kafkajs's eachMessage as the workers run it, @platformatic/kafka's message stream.
 */
async function openReceiver(
  client: Client,
  brokers: string[],
  topic: string,
  onJoined: () => void,
  onMessage: (key: Buffer | null | undefined, value: Buffer | null | undefined) => void,
): Promise<{ close(): Promise<void> }> {
  const groupId = `bench-clients-${randomUUID()}`;
  if (client === 'kafkajs') {
    const consumer = createKafka('bench-clients', brokers, log).consumer({
      groupId,
      sessionTimeout: 10_000,
      heartbeatInterval: 1000,
      maxWaitTimeInMs: FETCH_WAIT_MS,
    });
    consumer.on(consumer.events.GROUP_JOIN, onJoined);
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommitInterval: 1000,
      eachMessage: async ({ message }) => onMessage(message.key, message.value),
    });
    return { close: () => consumer.disconnect() };
  }
  const consumer = new PltConsumer({
    clientId: 'bench-clients',
    groupId,
    bootstrapBrokers: brokers,
    sessionTimeout: 10_000,
    heartbeatInterval: 1000,
    maxWaitTime: FETCH_WAIT_MS,
    isolationLevel: FetchIsolationLevels.READ_COMMITTED,
  });
  consumer.on('consumer:group:join', onJoined);
  const stream = await consumer.consume({
    topics: [topic],
    mode: 'committed',
    fallbackMode: 'earliest',
    autocommit: 1000,
  });
  stream.on('data', (message) => onMessage(message.key, message.value));
  return {
    async close() {
      await stream.close();
      await consumer.close(true);
    },
  };
}

/** CPU microseconds (user + system, every thread) this process has used so far. */
const cpuUs = () => {
  const { user, system } = process.cpuUsage();
  return user + system;
};

/** What a child measured: messages handled, its CPU and wall time over them, and what else it has to say. */
interface Measured {
  messages: number;
  cpuUs: number;
  ms: number;
  complete: boolean;
  /** Produce requests, for a send. */
  requests?: number;
}

// Each child first runs a fifth as many messages unmeasured: the figures are those of a running service, whose
// client code V8 has already compiled, not of a process's first seconds.
const warmUp = Math.floor(count / 5);

/** Sends warm-up orders, then `count` measured ones, through the group commit from `callers` callers at once. */
async function childSend(client: Client, brokers: string[], topic: string): Promise<Measured> {
  const all = orders(warmUp + count, topic);
  const { publish, requests, close } = await openPublisher(client, brokers);
  const deadline = performance.now() + seconds * 1000;
  const sendAll = async (from: number, to: number) => {
    let next = from;
    const caller = async () => {
      while (next < to && performance.now() < deadline) await publish(all[next++]!);
    };
    await Promise.all(Array.from({ length: callers }, caller));
    return next - from;
  };
  await sendAll(0, warmUp);
  const [cpu0, t0, requests0] = [cpuUs(), performance.now(), requests()];
  const sent = await sendAll(warmUp, all.length);
  const measured = {
    messages: sent,
    cpuUs: cpuUs() - cpu0,
    ms: performance.now() - t0,
    complete: sent === count,
    requests: requests() - requests0,
  };
  await close();
  return measured;
}

/**
 * Reads the topic (warm-up and measured orders) back twice, each time in a new consumer group, and measures the
 * second reading: CPU and time from the group's join to the last message handed over, as connecting and joining are
 * not work per message, but fetching is (and a client fetches ahead of the first message it hands over).
 */
async function childReceive(client: Client, brokers: string[], topic: string): Promise<Measured> {
  const total = warmUp + count;
  const readAll = async () => {
    let received = 0;
    let start: [number, number] | undefined;
    let end: [number, number] | undefined;
    const { promise: done, resolve } = Promise.withResolvers<void>();
    const joined = () => {
      start ??= [cpuUs(), performance.now()];
    };
    const receiver = await openReceiver(client, brokers, topic, joined, (key, value) => {
      if (!key || !value?.length) throw new Error('a message without key or value');
      if (++received === total) {
        end = [cpuUs(), performance.now()];
        resolve();
      }
    });
    await Promise.race([done, sleep(seconds * 1000)]);
    const last = end ?? [cpuUs(), performance.now()];
    await receiver.close();
    return {
      messages: received,
      cpuUs: start ? last[0] - start[0] : 0,
      ms: start ? last[1] - start[1] : 0,
      complete: received >= total,
    };
  };
  await readAll();
  return readAll();
}

/** What one client did through a broker's loss. */
interface LossReport {
  handedOver: number;
  acknowledged: string[];
  errors: number;
  firstError?: string;
  /** Seconds from the first failed send to the last one. */
  failingS: number;
  /** The longest stretch, in seconds, with nothing acknowledged while sends were pending. */
  longestStallS: number;
  /** The longest time, in seconds, one message waited for its acknowledgement. */
  slowestAckS: number;
  unresolved: number;
}

/**
 * Hands over `rate` keyed orders a second for `seconds`, each through the group commit, then waits (at most 30 s)
 * for every send to settle. Prints `sending` when it starts, so the parent knows when to kill a broker.
 */
async function childLoss(client: Client, brokers: string[], topic: string, lossSeconds: number): Promise<LossReport> {
  const all = orders(rate * lossSeconds, topic);
  const { publish, close } = await openPublisher(client, brokers);
  const report: LossReport = {
    handedOver: 0,
    acknowledged: [],
    errors: 0,
    failingS: 0,
    longestStallS: 0,
    slowestAckS: 0,
    unresolved: 0,
  };
  let pending = 0;
  let lastProgress = performance.now();
  let firstErrorAt: number | undefined;
  const settled = () => {
    const now = performance.now();
    report.longestStallS = Math.max(report.longestStallS, (now - lastProgress) / 1000);
    lastProgress = now;
    pending--;
  };
  const sends: Promise<void>[] = [];
  process.stdout.write('sending\n');
  const started = performance.now();
  // Ticks of 20 ms, each handing over its share of the rate.
  const perTick = rate / 50;
  for (let tick = 0; tick < lossSeconds * 50; tick++) {
    for (let i = Math.floor(tick * perTick); i < Math.floor((tick + 1) * perTick); i++) {
      const order = all[i]!;
      const at = performance.now();
      if (pending === 0) lastProgress = at;
      pending++;
      report.handedOver++;
      sends.push(
        publish(order).then(
          () => {
            report.acknowledged.push(String(order.message.key));
            report.slowestAckS = Math.max(report.slowestAckS, (performance.now() - at) / 1000);
            settled();
          },
          (error: unknown) => {
            report.errors++;
            report.firstError ??= error instanceof Error ? `${error.name}: ${error.message}` : String(error);
            firstErrorAt ??= performance.now();
            report.failingS = (performance.now() - firstErrorAt) / 1000;
            settled();
          },
        ),
      );
    }
    await sleep(Math.max(0, started + (tick + 1) * 20 - performance.now()));
  }
  await Promise.race([Promise.all(sends), sleep(30_000)]);
  report.unresolved = pending;
  await Promise.race([close(), sleep(5000)]);
  return report;
}

const role = values.child;
if (role !== undefined) {
  // A child: measure, print one RESULT line, leave.
  const client = values.client as Client;
  const brokers = values.brokers!.split(',');
  const topic = values.topic!;
  const result =
    role === 'send'
      ? await childSend(client, brokers, topic)
      : role === 'receive'
        ? await childReceive(client, brokers, topic)
        : await childLoss(client, brokers, topic, seconds);
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
  process.exit(0);
}

const started = performance.now();
const say = (line: string) =>
  process.stderr.write(`[clients ${((performance.now() - started) / 1000).toFixed(0).padStart(3)} s] ${line}\n`);

/** Runs this script as a child with `args`; resolves with its RESULT, SIGKILLs it after `limitMs`. */
const runChild = <T>(args: string[], limitMs: number, onLine?: (line: string) => void) =>
  runForResult<T>(import.meta.filename, args, { limitMs, onLine });

const ratioCell = (a: number[], b: number[], digits = 2) =>
  showSpread(
    a.map((v, i) => v / b[i]!),
    digits,
  );

/** Alternating rounds of send and receive for both clients on one local broker; prints the table. */
async function measureClients(): Promise<void> {
  const broker = await startLocalBroker();
  try {
    const kafka = createKafka('bench-clients', [broker.brokers], log);
    const topics = Array.from({ length: rounds }, (_, r) =>
      CLIENTS.map((client) => ({ name: `bench.clients.${r + 1}.${client}`, partitions: ordersPlaced.partitions })),
    ).flat();
    await ensureTopics(kafka, topics);
    say(
      `broker ${broker.brokers}; ${rounds} rounds; each sends ${warmUp} orders of ${orders(1, '')[0]!.message.value!.length} bytes unmeasured, then ${count} ` +
        `from ${callers} callers, to ${ordersPlaced.partitions} partitions; each consumer reads the ${warmUp + count} twice, the second time measured`,
    );
    const figures: Record<'send' | 'receive', Record<Client, Measured[]>> = {
      send: { kafkajs: [], platformatic: [] },
      receive: { kafkajs: [], platformatic: [] },
    };
    const limitMs = (seconds + 30) * 1000;
    for (let round = 1; round <= rounds; round++) {
      // Each round starts with the other client, so a disturbance early in a round does not always hit the same one.
      const order = round % 2 === 1 ? CLIENTS : ([...CLIENTS].reverse() as Client[]);
      for (const role of ['send', 'receive'] as const) {
        for (const client of order) {
          // Both consumers read the same messages: the ones kafkajs sent this round.
          const topic = `bench.clients.${round}.${role === 'send' ? client : 'kafkajs'}`;
          const m = await runChild<Measured>(
            ['--child', role, '--client', client, '--brokers', broker.brokers, '--topic', topic, ...passOn()],
            limitMs,
          );
          figures[role][client].push(m);
          say(
            `round ${round}/${rounds} ${role} ${NAMES[client]}: ${m.messages} messages${m.complete ? '' : ' (stopped at the time bound)'}, ` +
              `${(m.cpuUs / m.messages).toFixed(1)} CPU-µs per message, ${((m.messages / m.ms) * 1000).toFixed(0)} messages/s` +
              (m.requests ? `, ${(m.messages / m.requests).toFixed(0)} messages per produce request` : ''),
          );
        }
      }
    }
    const lines = [
      `| per process, ${rounds} rounds | kafkajs | @platformatic/kafka | platformatic / kafkajs |`,
      '| --- | --- | --- | --- |',
    ];
    for (const role of ['send', 'receive'] as const) {
      const cpu = (c: Client) => figures[role][c].map((m) => m.cpuUs / m.messages);
      const rateOf = (c: Client) => figures[role][c].map((m) => (m.messages / m.ms) * 1000);
      lines.push(
        `| ${role}, CPU-µs per message | ${showSpread(cpu('kafkajs'), 1)} | ${showSpread(cpu('platformatic'), 1)} | ${ratioCell(cpu('platformatic'), cpu('kafkajs'))} |`,
        `| ${role}, messages/s | ${showSpread(rateOf('kafkajs'))} | ${showSpread(rateOf('platformatic'))} | ${ratioCell(rateOf('platformatic'), rateOf('kafkajs'))} |`,
      );
    }
    say('done');
    console.log(lines.join('\n'));
  } finally {
    await broker.stop();
  }
}

/** The options a child needs from this run. */
function passOn(childSeconds = seconds): string[] {
  return [
    '--messages',
    String(count),
    '--callers',
    String(callers),
    '--seconds',
    String(childSeconds),
    '--rate',
    String(rate),
  ];
}

/** The node leading the most partitions of `topic`. */
async function busiestLeader(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    const led = new Map<number, number>();
    for (const partition of topics[0]!.partitions) led.set(partition.leader, (led.get(partition.leader) ?? 0) + 1);
    return [...led].sort((a, b) => b[1] - a[1])[0]![0];
  } finally {
    await admin.disconnect();
  }
}

const LOSS_SECONDS = 15;
const KILL_AFTER_MS = 5000;

/**
 * For each client, on a fresh three-node cluster (replication 3, min.insync.replicas 2): keyed orders at `rate` a
 * second for 15 s, the leader of the most partitions SIGKILLed after 5 s; then the topic is read back whole.
 */
async function measureBrokerLoss(): Promise<void> {
  const lines = [
    `| ${rate} orders/s for ${LOSS_SECONDS} s, one broker of three SIGKILLed after ${KILL_AFTER_MS / 1000} s | kafkajs | @platformatic/kafka |`,
    '| --- | --- | --- |',
  ];
  const cells: string[][] = [];
  for (const client of CLIENTS) {
    say(`${NAMES[client]}: starting a three-node cluster`);
    let cluster: LocalCluster | undefined;
    try {
      cluster = await startLocalCluster({ nodes: 3 });
      const local = cluster;
      const kafka = createKafka('bench-clients', local.brokers.split(','), log);
      const topic = `bench.clients.loss.${client}`;
      await ensureTopics(kafka, [{ name: topic, partitions: ordersPlaced.partitions }]);
      let killing: Promise<void> | undefined;
      const report = await runChild<LossReport>(
        ['--child', 'loss', '--client', client, '--brokers', local.brokers, '--topic', topic, ...passOn(LOSS_SECONDS)],
        (LOSS_SECONDS + 60) * 1000,
        (line) => {
          if (line !== 'sending') return;
          say(`${NAMES[client]}: sending ${rate} orders/s to ${topic}`);
          killing = (async () => {
            await sleep(KILL_AFTER_MS);
            const leader = await busiestLeader(kafka, topic);
            await local.nodes.find((n) => n.id === leader)!.kill('SIGKILL');
            say(`${NAMES[client]}: SIGKILLed broker ${leader}, leader of the most partitions`);
          })();
          // Awaited once the child is done; until then a failure must not count as unhandled.
          killing.catch(() => {});
        },
      );
      await killing;
      const keys = new Map<string, number>();
      for (const message of await readTopic(kafka, topic)) {
        const key = message.key?.toString() ?? '';
        keys.set(key, (keys.get(key) ?? 0) + 1);
      }
      const lost = report.acknowledged.filter((key) => !keys.has(key)).length;
      const duplicates = [...keys.values()].reduce((n, times) => n + times - 1, 0);
      const unacknowledgedWritten = keys.size - (report.acknowledged.length - lost);
      say(
        `${NAMES[client]}: handed over ${report.handedOver}, acknowledged ${report.acknowledged.length}, lost ${lost}, duplicates ${duplicates}, errors ${report.errors}` +
          `${report.firstError ? ` (first: ${report.firstError.slice(0, 200)})` : ''}, longest stall ${report.longestStallS.toFixed(2)} s`,
      );
      cells.push([
        String(report.handedOver),
        String(report.acknowledged.length),
        String(lost),
        String(duplicates),
        String(unacknowledgedWritten),
        `${report.errors}${report.errors > 0 ? ` over ${report.failingS.toFixed(1)} s` : ''}`,
        report.firstError ? report.firstError.slice(0, 120).replaceAll('|', '/') : '—',
        report.longestStallS.toFixed(2),
        report.slowestAckS.toFixed(2),
        String(report.unresolved),
      ]);
    } finally {
      await cluster?.stop();
    }
  }
  const labels = [
    'orders handed over',
    'acknowledged',
    'lost (acknowledged, not in the topic)',
    'duplicates in the topic',
    'in the topic, not acknowledged',
    'errors surfaced to the caller',
    'first error',
    'longest stretch with nothing acknowledged, s',
    'slowest acknowledgement, s',
    'still unsettled 30 s after the last send',
  ];
  for (const [i, label] of labels.entries()) lines.push(`| ${label} | ${cells[0]![i]} | ${cells[1]![i]} |`);
  say('done');
  console.log(lines.join('\n'));
}

if (values['broker-loss']) await measureBrokerLoss();
else await measureClients();
