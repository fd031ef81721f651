import { parseArgs } from 'node:util';
import { createKafka, ensureTopics } from '../../common/kafka/client.ts';
import { createLogger } from '../../common/logger.ts';
import { ALL_TOPICS } from '../../common/topics/index.ts';
import { startLocalBroker } from '../local-kafka/cluster.ts';
import { spawnService } from '../start/spawn-service.ts';
import type { ServiceName } from '../start/spawn-service.ts';
import { cpuSnapshot, emptyTopics, exitOnProblems, showSpread, startReceiver, wholeNumberProblem } from './measure.ts';
import { orderHopsLatency } from './kafka-tools.ts';
import { PIPELINE_ENV, ladderStep, latencyRun, placeBacklog, warmUp, watchReady } from './pipeline.ts';

// `npm run bench:fencing [-- --rounds 3] [--orders 20000] [--rates 300,400,500,600,700,800] [--latency-rate 100]`: what
// fencing the workers with Kafka transactions (the default) costs against `ITUNA_*_FENCING=off`, on one warm broker,
// the two alternating: how fast validation and the kitchen drain a backlog of orders.placed (start to last order
// ready), the end-to-end latency at a fixed rate, and the highest rate of the pipeline's ladder (gateway included)
// with no backlog, as `npm run bench` measures it.
const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    orders: { type: 'string', default: '20000' },
    rates: { type: 'string', default: '300,400,500,600,700,800' },
    'latency-rate': { type: 'string', default: '100' },
  },
});
const rounds = Number(values.rounds);
const orders = Number(values.orders);
const rates = values.rates.split(',').map(Number);
const latencyRate = Number(values['latency-rate']);
/** How long each end-to-end latency run lasts, at `latencyRate`. */
const LATENCY_SECONDS = 5;
exitOnProblems([
  ...wholeNumberProblem('rounds', rounds, 1, 10),
  ...wholeNumberProblem('orders', orders, 1000, 200_000),
  ...rates.flatMap((rate) => wholeNumberProblem('rates', rate, 10, 5000)),
  ...wholeNumberProblem('latency-rate', latencyRate, 10, 5000),
]);

const MODES = {
  fenced: {},
  unfenced: { ITUNA_KITCHEN_FENCING: 'off', ITUNA_VALIDATION_FENCING: 'off' },
} as const;
type Mode = keyof typeof MODES;
const say = (line: string) => console.log(`[bench:fencing] ${line}`);

const broker = await startLocalBroker();
const sink = await startReceiver('count');
const kafka = createKafka('bench-fencing', [broker.brokers], createLogger('bench', 'warn'));
const env = (mode: Mode) => ({
  KAFKA_BROKERS: broker.brokers,
  PORT: '0',
  ITUNA_ORDERS_PER_MINUTE: '0',
  OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
  LOG_LEVEL: 'info',
  ...PIPELINE_ENV,
  ...MODES[mode],
});

/** Empties every topic, so that each run starts with no backlog and no history but its own. */
async function emptied(): Promise<void> {
  await emptyTopics(broker.brokers);
  await ensureTopics(kafka, ALL_TOPICS);
}

/** Starts `names`, with a reader of orders.status that says when each order was ready. */
async function pipeline(mode: Mode, names: ServiceName[]) {
  const ready = await watchReady(createKafka('bench-fencing-ready', [broker.brokers], createLogger('bench', 'warn')));
  const services = names.map((name) => spawnService(name, env(mode)));
  const urls = await Promise.all(services.map((s) => s.ready));
  return {
    ready,
    url: urls[names.indexOf('gateway')],
    pids: [...services.map((s) => s.child.pid!), broker.pid],
    async stop() {
      await ready.stop();
      await Promise.all(services.map((s) => s.stop()));
    },
  };
}

/** Orders drained per second, start of the workers to the last order ready, and CPU-ms per order of each process. */
async function drain(mode: Mode): Promise<{ rate: number; cpu: number[] }> {
  await emptied();
  const ids = await placeBacklog(kafka, orders);
  const run = await pipeline(mode, ['validation', 'kitchen']);
  try {
    const started = Date.now();
    const before = await cpuSnapshot(run.pids, new Set([broker.pid]));
    const readyAt = await run.ready.settle(ids, 180_000);
    const after = await cpuSnapshot(run.pids, new Set([broker.pid]));
    if (readyAt.size < ids.length)
      throw new Error(`${mode}: ${ids.length - readyAt.size} orders not ready after 180 s`);
    return {
      rate: (ids.length * 1000) / (Math.max(...readyAt.values()) - started),
      cpu: after.ms.map((ms, i) => (ms - before.ms[i]!) / ids.length),
    };
  } finally {
    await run.stop();
  }
}

/**
 * On one pipeline, warmed up: the end-to-end latency (HTTP call to ready) of orders at `latencyRate`, then the highest
 * rate of `rates` whose every order was ready within 1 s of the load's end, as `npm run bench` asks.
 */
async function ladder(mode: Mode): Promise<{ sustained: number; p50: number; p99: number }> {
  await emptied();
  const run = await pipeline(mode, ['validation', 'kitchen', 'gateway']);
  try {
    await warmUp(run.url!, true);
    const { p50, p99, ready, sent } = await latencyRun(
      run.url!,
      run.ready,
      latencyRate,
      LATENCY_SECONDS,
      `fencing-${mode}-latency`,
    );
    say(`  ${mode} at ${latencyRate}/s: end-to-end p50 ${p50} ms, p99 ${p99} ms (${ready}/${sent} ready)`);
    let sustained = 0;
    for (const rate of rates) {
      const before = await cpuSnapshot(run.pids, new Set([broker.pid]));
      const step = await ladderStep(run.url!, run.ready, rate, 4, `fencing-${mode}-${rate}`);
      const after = await cpuSnapshot(run.pids, new Set([broker.pid]));
      const perOrder = after.ms.map((ms, i) => (ms - before.ms[i]!) / Math.max(1, step.accepted));
      say(
        `  ${mode} at ${rate}/s: last order ready ${step.lastReadyMs} ms after the load${step.held ? '' : ' — backlog'}; CPU-ms per order validation ${perOrder[0]!.toFixed(2)}, kitchen ${perOrder[1]!.toFixed(2)}, gateway ${perOrder[2]!.toFixed(2)}, broker ${perOrder[3]!.toFixed(2)}`,
      );
      if (!step.held) break;
      sustained = rate;
    }
    return { sustained, p50, p99 };
  } finally {
    await run.stop();
  }
}

const drains: Record<Mode, Array<{ rate: number; cpu: number[] }>> = { fenced: [], unfenced: [] };
const ladders: Record<Mode, number[]> = { fenced: [], unfenced: [] };
const latencies: Record<Mode, Array<{ p50: number; p99: number }>> = { fenced: [], unfenced: [] };
let kafkaHops: { p50Ms: number; p99Ms: number };
try {
  // The first ladder on a fresh broker runs against a cold JVM: one untimed round of each mode first.
  say('warming the broker: one untimed drain of each mode…');
  for (const mode of ['fenced', 'unfenced'] as const) await drain(mode);
  for (let round = 0; round < rounds; round++) {
    const order: Mode[] = round % 2 === 0 ? ['fenced', 'unfenced'] : ['unfenced', 'fenced'];
    for (const mode of order) {
      const result = await drain(mode);
      drains[mode].push(result);
      say(
        `round ${round + 1}, ${mode}: drained ${orders} orders at ${result.rate.toFixed(0)}/s; CPU-ms per order validation ${result.cpu[0]!.toFixed(2)}, kitchen ${result.cpu[1]!.toFixed(2)}, broker ${result.cpu[2]!.toFixed(2)}`,
      );
    }
    for (const mode of order) {
      const { sustained, ...latency } = await ladder(mode);
      ladders[mode].push(sustained);
      latencies[mode].push(latency);
      say(`round ${round + 1}, ${mode}: ${sustained} orders/s sustained`);
    }
  }
  // The broker's own produce→consume latency for an order's three hops, as `npm run bench` takes it.
  kafkaHops = await orderHopsLatency(broker.brokers, 2000);
} finally {
  await sink.stop();
  await broker.stop();
}

const ratios = drains.fenced.map((f, i) => f.rate / drains.unfenced[i]!.rate);
const total = (d: { cpu: number[] }) => d.cpu.reduce((a, b) => a + b, 0);
for (const mode of ['fenced', 'unfenced'] as const) {
  const d = drains[mode];
  say(
    `${mode}: drain ${showSpread(d.map((r) => r.rate))} orders/s, ${showSpread(d.map(total), 2)} CPU-ms per order (validation ${showSpread(
      d.map((r) => r.cpu[0]!),
      2,
    )}, kitchen ${showSpread(
      d.map((r) => r.cpu[1]!),
      2,
    )}, broker ${showSpread(
      d.map((r) => r.cpu[2]!),
      2,
    )}); ladder ${ladders[mode].join(', ')} orders/s`,
  );
}
say(`fenced drain rate ${showSpread(ratios, 2)}× unfenced (round by round); target: within 10 %`);
say(
  `fenced ladder ${showSpread(ladders.fenced)} against unfenced ${showSpread(ladders.unfenced)} orders/s sustained: ${showSpread(
    ladders.fenced.map((rate, i) => rate / Math.max(1, ladders.unfenced[i]!)),
    2,
  )}× round by round`,
);
for (const mode of ['fenced', 'unfenced'] as const) {
  const p99s = latencies[mode].map((l) => l.p99);
  say(
    `${mode}: end-to-end at ${latencyRate}/s p50 ${showSpread(latencies[mode].map((l) => l.p50))} ms, p99 ${showSpread(p99s)} ms: p99 ${showSpread(
      p99s.map((p99) => p99 / kafkaHops.p99Ms),
      1,
    )}× Kafka EndToEndLatency × 3 hops (p50 ${kafkaHops.p50Ms.toFixed(0)} ms, p99 ${kafkaHops.p99Ms.toFixed(0)} ms); target ≤ 2×`,
  );
}
