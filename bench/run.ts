import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { KafkaSendMode } from '../common/kafka/publish.ts';
import { createKafka, ensureTopics } from '../common/kafka/client.ts';
import { createLogger } from '../common/logger.ts';
import { percentile, percentiles } from '../report/percentiles.ts';
import { startLocalBroker } from '../kafka/local-broker.ts';
import { runLoad } from '../load/runner.ts';
import { NODE_FLAGS, startService } from '../start/services.ts';
import type { ServiceName, ServiceProcess } from '../start/services.ts';
import { openTraceStore } from '../tracestore/store.ts';
import { startTraceStoreServer } from '../tracestore/server.ts';
import { measureIngest, spread } from './ingest.ts';
import { ORDER_BODY, postOrders } from './intake.ts';
import { endToEndLatency, producerPerformance } from './kafka-tools.ts';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

// `npm run bench [-- --quick]`: every figure beside its limit, measured in one run on this machine.
const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false } } });
const seconds = values.quick ? 3 : 10;
const say = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const rows: Array<[string, string, string, string]> = [];
const row = (what: string, figure: string, limit: string, ratio: string) => {
  rows.push([what, figure, limit, ratio]);
  say(`${what}: ${figure}  (limit ${limit}; ${ratio})`);
};

async function peakRssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

/** CPU seconds (user + system) a process has used so far; Linux's clock ticks are 1/100 s. */
async function cpuSeconds(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The CPU seconds each of `pids` has used, and when they were read. */
async function cpuSnapshot(pids: number[]): Promise<{ at: number; seconds: number[] }> {
  return { seconds: await Promise.all(pids.map(cpuSeconds)), at: performance.now() };
}

const intake = (url: string) => postOrders(url, seconds);

let broker = await startLocalBroker();
// The receiver is the embedded trace store, in this process; it keeps the newest 200 000 spans and counts them all.
const spans = await openTraceStore();
const store = await startTraceStoreServer(spans, { otlpPort: 0, queryPort: 0 });
const running: ServiceProcess[] = [];
const baseEnv = { KAFKA_BROKERS: broker.brokers, PORT: '0', ITUNA_ORDERS_PER_MINUTE: '0', OTEL_EXPORTER_OTLP_ENDPOINT: store.otlpUrl };
// The services log at info, their default, as a user runs them (readiness is read from an info line too).
const start = async (name: ServiceName, env: Record<string, string> = {}) => {
  const service = startService(name, { ...baseEnv, LOG_LEVEL: 'info', ...env });
  running.push(service);
  return (await service.ready)!;
};
const stopAll = async () => {
  await Promise.all(running.splice(0).map((s) => s.stop()));
};

/**
 * Each measurement gets a broker of its own: a gateway reads the whole orders.status topic when it starts (its
 * order history), so on a shared broker every run would start by replaying the orders of the runs before it.
 */
async function freshBroker() {
  await broker.stop();
  broker = await startLocalBroker();
  baseEnv.KAFKA_BROKERS = broker.brokers;
}

const MODES: Array<[KafkaSendMode, string]> = [['batched', 'group commit'], ['single', 'one awaited send per request']];

/** Polls GET /orders/{id} until each order is ready or `limitMs` passed; returns when each became ready (from its status history). */
const settle = async (gatewayUrl: string, orderIds: string[], limitMs: number) => {
  const started = Date.now();
  const readyAt = new Map<string, number>();
  // The ready times come from the orders' histories, so polling late changes nothing; polling early would load the gateway.
  await sleep(1000);
  while (readyAt.size < orderIds.length && Date.now() - started < limitMs) {
    for (const id of orderIds.filter((o) => !readyAt.has(o))) {
      const order = (await (await fetch(`${gatewayUrl}/orders/${id}`)).json()) as { history?: Array<{ status: string; at: string }> };
      const ready = order.history?.find((h) => h.status === 'ready');
      if (ready) readyAt.set(id, Date.parse(ready.at));
    }
    if (readyAt.size < orderIds.length) await sleep(500);
  }
  return readyAt;
};

/**
 * The whole pipeline with no simulated work, sending the `mode` way: the highest open-loop rate of the ladder that
 * drains with no backlog, the end-to-end latency at half that rate, and each process's peak RSS. A fresh broker,
 * so no run starts with another's orders queued in front of it.
 */
async function pipelineRun(mode: KafkaSendMode) {
  await freshBroker();
  const env = { ITUNA_DELAYS: 'address=0,name=0,inventory=0,cook=0', ITUNA_KAFKA_SEND: mode };
  await start('validation', env);
  const [, gatewayUrl] = await Promise.all([start('kitchen', { ...env, ITUNA_KITCHEN_CHEFS: '64' }), start('gateway', env)]);
  let sustained = 0;
  for (const rate of values.quick ? [50, 100] : [50, 100, 200, 400, 600, 800, 1000, 1200, 1600]) {
    const scenario = { description: 'bench', startRate: rate, stages: [{ seconds: Math.max(4, seconds / 2), target: rate }], maxInFlight: 1000 };
    const summary = await runLoad({ baseUrl: gatewayUrl, scenario, runId: `bench-${mode}-${rate}` });
    const loadEnded = Date.now();
    const readyAt = await settle(gatewayUrl, summary.accepted.map((a) => a.orderId), 15_000);
    const backlogMs = (readyAt.size > 0 ? Math.max(...readyAt.values()) : Infinity) - loadEnded;
    const ok = readyAt.size === summary.accepted.length && summary.accepted.length >= summary.sent * 0.99 && backlogMs < 1000;
    say(`pipeline (${mode}) at ${rate}/s: ${summary.accepted.length}/${summary.sent} accepted, ${readyAt.size} ready, last ready ${backlogMs} ms after the load ended${ok ? '' : ' — backlog'}`);
    if (!ok) break;
    sustained = rate;
  }
  const half = Math.max(10, Math.round(sustained / 2));
  // Where the two cores go: each process's CPU time over the half-rate run, less what it uses idle (heartbeats,
  // fetch polls, span exports), per order. This process is the load generator and the OTLP receiver.
  const processes = [...running.map((s) => ({ name: s.name, pid: s.child.pid! })), { name: 'broker', pid: broker.pid }, { name: 'load + receiver', pid: process.pid }];
  const pids = processes.map((p) => p.pid);
  await sleep(5000); // the spans of the runs before are exported (OTEL_BSP_SCHEDULE_DELAY) before idle is measured
  const idle = await cpuSnapshot(pids);
  await sleep(3000);
  const loadStart = await cpuSnapshot(pids);
  const run = await runLoad({ baseUrl: gatewayUrl, scenario: { description: 'bench', startRate: half, stages: [{ seconds, target: half }], maxInFlight: 1000 }, runId: `bench-${mode}-latency` });
  const readyAt = await settle(gatewayUrl, run.accepted.map((a) => a.orderId), 20_000);
  const loadEnd = await cpuSnapshot(pids);
  const loadMs = loadEnd.at - loadStart.at;
  const underLoad = loadEnd.seconds.map((s, i) => s - loadStart.seconds[i]!);
  const whenIdle = loadStart.seconds.map((s, i) => ((s - idle.seconds[i]!) * loadMs) / (loadStart.at - idle.at));
  const busy = underLoad.reduce((sum, s) => sum + s, 0) / ((availableParallelism() * loadMs) / 1000);
  const cpuMs = processes.map((p, i) => ({ name: p.name, ms: (Math.max(0, underLoad[i]! - whenIdle[i]!) * 1000) / Math.max(1, run.accepted.length) }));
  const latency = percentiles(run.accepted.filter((a) => readyAt.has(a.orderId)).map((a) => readyAt.get(a.orderId)! - a.sentAt));
  const rss = await Promise.all(running.map(async (s) => `${s.name} ${(await peakRssMb(s.child.pid!)).toFixed(0)} MB`));
  const services = [...running];
  await stopAll();
  const dropped = services.filter((s) => s.lines.some((line) => line.includes('spans dropped'))).map((s) => s.name);
  if (dropped.length > 0) say(`warning: spans dropped during the pipeline runs (${mode}) by ${dropped.join(', ')}`);
  return { sustained, half, latency, rss, dropped, cpuMs, busy };
}

try {
  say(`broker ${broker.brokers}; ${seconds} s per HTTP measurement, 50 connections`);

  // 1. The HTTP limit: a bare Fastify route with the same schema, in its own process.
  say(`1/5 the HTTP limit: a bare route for ${seconds} s…`);
  const bare = spawn(process.execPath, [...NODE_FLAGS, 'bench/bare-server.ts'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const bareUrl = await new Promise<string>((resolve) => createInterface({ input: bare.stdout }).on('line', (l) => l.includes('listening') && resolve(l.split(' ').at(-1)!)));
  const limit = await intake(bareUrl);
  bare.kill('SIGTERM');
  const httpLimit = `bare route ${limit.rps.toFixed(0)} req/s, p99 ${limit.p99} ms`;

  // 2. The trace store's OTLP intake, alone: SDK-made exports of 512 spans posted to a store process of its own.
  say('2/5 the trace store ingesting OTLP protobuf and JSON…');
  const rounds = values.quick ? 3 : 5;
  const ingest = await measureIngest(rounds, values.quick ? 20 : 100);
  const perCpuSecond = (figures: typeof ingest.json) => figures.cpuMsPer1000Spans.map((ms) => 1_000_000 / ms);
  const medianOf = (list: number[]) => percentile([...list].sort((a, b) => a - b), 50);
  const [protobufCpu, jsonCpu] = [perCpuSecond(ingest.protobuf), perCpuSecond(ingest.json)];
  const ingestRow = (name: string, figures: typeof ingest.json, cpu: number[], limit: string, ratio: string) =>
    row(`trace store ingest, ${name}, 512-span exports, 4 at a time (median, min–max of ${rounds} rounds)`, `${spread(figures.spansPerSecond)} spans/s; ${spread(cpu)} spans per CPU-second of the store`, limit, ratio);
  ingestRow('OTLP protobuf', ingest.protobuf, protobufCpu, '50 000 spans/s on one core', `${(medianOf(protobufCpu) / 50_000).toFixed(2)}× the target per CPU-second`);
  ingestRow('OTLP JSON', ingest.json, jsonCpu, 'protobuf, same run', `${(medianOf(jsonCpu) / medianOf(protobufCpu)).toFixed(2)}× protobuf per CPU-second`);

  // 3. The gateway, traced at 100% into a local OTLP receiver, then with the SDK disabled; both ways of sending.
  type Intake = Awaited<ReturnType<typeof intake>>;
  const intakes = new Map<KafkaSendMode, { traced: Intake & { spansPerOrder: number; dropped: boolean }; untraced: Intake }>();
  for (const [mode] of MODES) {
    say(`3/5 gateway intake (${mode}), traced then untraced, ${seconds} s each…`);
    await freshBroker();
    // Full tracing means every span reaches the receiver: count them (the gateway flushes on stop) and look for drops.
    const before = spans.received;
    const gateway = await start('gateway', { ITUNA_KAFKA_SEND: mode });
    const traced = { ...(await intake(gateway)), spansPerOrder: 0, dropped: false };
    const { lines } = running[0]!;
    await stopAll();
    traced.spansPerOrder = (spans.received - before) / traced.requests;
    traced.dropped = lines.some((line) => line.includes('spans dropped'));
    if (traced.dropped) say(`warning: the gateway dropped spans during the traced intake (${mode}); the traced figure is not full tracing`);
    await freshBroker();
    const untraced = await intake(await start('gateway', { ITUNA_KAFKA_SEND: mode, OTEL_SDK_DISABLED: 'true' }));
    await stopAll();
    if (traced.failed + untraced.failed > 0) say(`warning: ${traced.failed + untraced.failed} non-2xx or failed requests during intake (${mode})`);
    intakes.set(mode, { traced, untraced });
  }

  // 4. Kafka's own yardsticks on a fresh broker: topics like the pipeline's, 6 partitions, and 1 for the latency probe.
  say("4/5 Kafka's own producer throughput and end-to-end latency…");
  await freshBroker();
  await ensureTopics(createKafka('bench', [broker.brokers], createLogger('bench', 'warn')), [
    { name: 'bench.producer-performance', partitions: 6 },
    { name: 'bench.end-to-end-latency', partitions: 1 },
  ]);
  const pp = await producerPerformance(broker.brokers, 'bench.producer-performance', values.quick ? 20_000 : 100_000, ORDER_BODY.length + 150);
  const e2e = await endToEndLatency(broker.brokers, 'bench.end-to-end-latency', values.quick ? 300 : 2000, ORDER_BODY.length + 150);
  const kafkaLatency = `Kafka EndToEndLatency × 3 hops: p50 ${(e2e.p50Ms * 3).toFixed(0)} ms, p99 ${(e2e.p99Ms * 3).toFixed(0)} ms`;

  // 5. The pipeline, its end-to-end latency and memory, both ways of sending.
  const pipelines = new Map<KafkaSendMode, Awaited<ReturnType<typeof pipelineRun>>>();
  for (const [mode] of MODES) {
    say(`5/5 the whole pipeline (${mode}): a rate ladder, then half the sustained rate…`);
    pipelines.set(mode, await pipelineRun(mode));
  }

  for (const [mode, how] of MODES) {
    const { traced, untraced } = intakes.get(mode)!;
    const { sustained, half, latency, rss, dropped, cpuMs, busy } = pipelines.get(mode)!;
    row(`gateway intake, traced (${how})`, `${traced.rps.toFixed(0)} req/s, p50 ${traced.p50} ms, p99 ${traced.p99} ms`, httpLimit, `${(traced.rps / limit.rps).toFixed(2)}× the HTTP limit`);
    const exported = `${traced.spansPerOrder.toFixed(1)} spans per order received${traced.dropped ? ', SOME DROPPED' : ', none dropped'}`;
    row(`tracing overhead (${how})`, `traced ${traced.rps.toFixed(0)} req/s, ${exported}`, `untraced ${untraced.rps.toFixed(0)} req/s, p99 ${untraced.p99} ms`, `${((1 - traced.rps / untraced.rps) * 100).toFixed(1)}% fewer req/s with tracing`);
    row(
      `pipeline, HTTP call → ready, no simulated work (${how})`,
      `${sustained} orders/s sustained with no backlog${dropped.length ? ` (spans dropped by ${dropped.join(', ')})` : ', no span dropped'}`,
      `HTTP limit ${limit.rps.toFixed(0)} req/s; Kafka ProducerPerformance ${pp.recordsPerSec.toFixed(0)} records/s`,
      `${(sustained / limit.rps).toFixed(3)}× the HTTP limit`,
    );
    row(`end-to-end latency at ${half} orders/s (${how})`, `p50 ${latency.p50} ms, p99 ${latency.p99} ms`, kafkaLatency, `p99 ${(latency.p99 / Math.max(1, e2e.p99Ms * 3)).toFixed(1)}× the broker's`);
    row(`peak RSS per process (${how})`, rss.join(', '), '150 MB target', '');
    const total = cpuMs.reduce((sum, p) => sum + p.ms, 0);
    row(
      `CPU per order at ${half} orders/s (${how})`,
      cpuMs.map((p) => `${p.name} ${p.ms.toFixed(2)} ms`).join(', '),
      `${availableParallelism()} cores = ${availableParallelism() * 1000} CPU-ms per second`,
      `${total.toFixed(2)} CPU-ms per order above idle; the cores ${(busy * 100).toFixed(0)}% busy`,
    );
  }
  const [tuned, plain] = [intakes.get('batched')!, intakes.get('single')!];
  const [tunedRun, plainRun] = [pipelines.get('batched')!, pipelines.get('single')!];
  row(
    'group commit against one awaited send per request',
    `intake ${tuned.traced.rps.toFixed(0)} vs ${plain.traced.rps.toFixed(0)} req/s; pipeline ${tunedRun.sustained} vs ${plainRun.sustained} orders/s`,
    '',
    `intake ${(tuned.traced.rps / plain.traced.rps).toFixed(1)}×, pipeline ${(tunedRun.sustained / Math.max(1, plainRun.sustained)).toFixed(1)}×`,
  );
} finally {
  await stopAll();
  await store.close();
  await broker.stop();
}

console.log(['| figure | measured | limit, same run | ratio |', '| --- | --- | --- | --- |', ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n'));
