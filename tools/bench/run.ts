import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { createKafka, ensureTopics } from '../../common/kafka/client.ts';
import { createLogger } from '../../common/logger.ts';
import { percentile } from '../traces/percentiles.ts';
import { startLocalBroker } from '../local-kafka/cluster.ts';
import type { LocalBroker } from '../local-kafka/cluster.ts';
import { runLoad } from '../../load/runner.ts';
import { NODE_FLAGS, spawnService } from '../start/spawn-service.ts';
import type { ServiceName, ServiceProcess } from '../start/spawn-service.ts';
import { measureIngest, measureMonitorCost, spread as ingestSpread } from './ingest.ts';
import { postOrders } from './intake.ts';
import { measureSpanCost } from './span-cost.ts';
import { ORDER_RECORD_BYTES, orderHopsLatency, producerPerformance } from './kafka-tools.ts';
import {
  aboveIdle,
  cpuMs,
  cpuSnapshot,
  emptyTopics,
  idleCpu,
  pause,
  peakRssMb,
  quiet,
  showSpread,
  spread,
  startReceiver,
} from './measure.ts';
import {
  PIPELINE_ENV,
  fixedRate,
  ladderStep,
  latencyRun,
  readyLatency,
  settle,
  warmUp,
  watchReady,
} from './pipeline.ts';

// `npm run bench [-- --quick]`: what tracing costs each service, and how close the pipeline runs to its parts' limits,
// measured in one run on this machine. Every ratio is printed with its spread over the rounds.
const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, rounds: { type: 'string' } } });
const quick = values.quick;
const rounds = Number(values.rounds ?? (quick ? 1 : 3));
if (!Number.isInteger(rounds) || rounds < 1 || rounds > 10)
  throw new Error('--rounds must be a whole number from 1 to 10');
// --quick is a smoke check (npm test runs it): every step of the full run, each as short as still yields a figure.
const seconds = quick ? 1 : 5;
// Before each load: a window of idle CPU, and a pause for a process woken with SIGCONT to settle.
const IDLE_WINDOW_MS = quick ? 1000 : 2000;
const WAKE_MS = quick ? 300 : 1000;
const WARM_UP_SECONDS = quick ? 1 : 2;
/** A keyed or unkeyed run of the gateway's answer: 900 orders at 300/s, within the 8 minutes. */
const KEYED_SECONDS = quick ? 1 : 3;
const GATEWAY_RATE = 300;
// Per pipeline, two of which run side by side: below saturation on two shared cores (at 200/s one pipeline needed
// 1.7–2.3 cores and queued).
const PIPELINE_RATE = 50;
// Idle CPU is read from the scheduler's nanosecond counters (the 10 ms ticks of the other figures would read 8 s of
// idle to 0.13 % of a core).
const IDLE_SECONDS = quick ? 2 : 8;
// Idle is measured from 30 s after the services start: before, a just-started process still compiles in the
// background and V8's memory reducer runs its first collections (0.87-1.00 % against 0.37-0.50 % 25 s later).
const IDLE_AFTER_START_MS = quick ? 0 : 30_000;
const started = performance.now();
const say = (line: string) =>
  process.stderr.write(`[bench ${((performance.now() - started) / 1000).toFixed(0).padStart(3)} s] ${line}\n`);
const rows: Array<[string, string, string, string]> = [];
const row = (what: string, figure: string, limit: string, ratio: string) => {
  rows.push([what, figure, limit, ratio]);
  say(`${what}: ${figure}  (${limit}; ${ratio})`);
};
const pct = (traced: number, untraced: number) =>
  `${traced >= untraced ? '+' : ''}${((traced / untraced - 1) * 100).toFixed(0)} %`;

const broker = await startLocalBroker();
say(`broker ${broker.brokers}; ${rounds} round(s), ${seconds} s per measurement`);
// The untraced side of the pipeline's measurements (steps 4 and 5) has a broker of its own, started when needed.
let secondBroker: LocalBroker | undefined;
// Spans go to a counting sink in its own process: the services are measured, not a backend.
const sink = await startReceiver('count');
const running: ServiceProcess[] = [];
const baseEnv = {
  KAFKA_BROKERS: broker.brokers,
  PORT: '0',
  ITUNA_ORDERS_PER_MINUTE: '0',
  OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
  LOG_LEVEL: 'info',
};
const start = (name: ServiceName, env: Record<string, string> = {}) => {
  const service = spawnService(name, { ...baseEnv, ...env });
  running.push(service);
  return service;
};
const stopAll = async () => void (await Promise.all(running.splice(0).map((s) => s.stop())));

/**
 * A traced and an untraced pipeline with no simulated work, on `brokers` (the traced one's first): each side's
 * services, its processes' pids (the broker's last) and its gateway's URL once all three services are ready.
 */
async function startSides(brokers: [LocalBroker, LocalBroker], tracedEnv: Record<string, string> = {}) {
  const sides = (['traced', 'untraced'] as const).map((which, i) => {
    const broker = brokers[i]!;
    const env = { ...PIPELINE_ENV, KAFKA_BROKERS: broker.brokers, ...(which === 'untraced' ? untracedEnv : tracedEnv) };
    const services = [start('validation', env), start('kitchen', env), start('gateway', env)];
    return { which, broker, services, pids: [...services.map((s) => s.child.pid!), broker.pid] };
  });
  const urls = await Promise.all(sides.map(async (side) => (await Promise.all(side.services.map((s) => s.ready)))[2]!));
  return sides.map((side, i) => ({ ...side, url: urls[i]! }));
}
/** What else must stop before the broker does (the bench's own readers). */
const readers: Array<{ stop(): Promise<void> }> = [];
const untracedEnv = { OTEL_SDK_DISABLED: 'true' };

/** The brokers' pids: a broker is never idle enough to wait for, and its CPU is counted without its JIT compiler's. */
const brokerPids = new Set([broker.pid]);

/**
 * Orders at `rate` for `seconds` to each of `sides` at the same time, and the CPU milliseconds each of a side's `pids`
 * used per accepted order above what it uses idle (measured just before, for 2 s).
 */
async function cpuPerOrder(
  sides: Array<{ url: string; pids: number[]; runId: string }>,
  rate: number,
  waitReady = false,
) {
  await quiet(sides.flatMap((s) => s.pids).filter((pid) => !brokerPids.has(pid)));
  const idleStart = await Promise.all(sides.map((s) => cpuSnapshot(s.pids, brokerPids)));
  await pause(IDLE_WINDOW_MS);
  const idleEnd = await Promise.all(sides.map((s) => cpuSnapshot(s.pids, brokerPids)));
  const before = await sink.count();
  const runs = await Promise.all(
    sides.map((s) => runLoad({ baseUrl: s.url, scenario: fixedRate(rate, seconds), runId: s.runId })),
  );
  const readyAt = await Promise.all(
    sides.map((s, i) =>
      waitReady
        ? settle(
            s.url,
            runs[i]!.accepted.map((a) => a.orderId),
            15_000,
          )
        : Promise.resolve(new Map<string, number>()),
    ),
  );
  // Spans leave in batches (OTEL_BSP_SCHEDULE_DELAY, 1 s here), so the last ones are taken before CPU is read.
  await pause(1500);
  const loadEnd = await Promise.all(sides.map((s) => cpuSnapshot(s.pids, brokerPids)));
  const after = await sink.count();
  return sides.map((_, i) => {
    const run = runs[i]!;
    const orders = Math.max(1, run.accepted.length);
    return {
      orders: run.accepted.length,
      sent: run.sent,
      perOrder: aboveIdle([idleStart[i]!, idleEnd[i]!], [idleEnd[i]!, loadEnd[i]!]).map((ms) => ms / orders),
      // Every side's spans reach the one sink: with several sides, only an untraced side's count is zero.
      spans: after.spans - before.spans,
      latency: readyLatency(run.accepted, readyAt[i]!),
      ready: readyAt[i]!.size,
    };
  });
}

/** SIGSTOP every service but `live`, so the one measured has the cores to itself; SIGCONT `live`. */
function only(live: ServiceProcess[], all: ServiceProcess[]) {
  for (const s of all) s.child.kill(live.includes(s) ? 'SIGCONT' : 'SIGSTOP');
}

try {
  // 1. The HTTP limit: a bare Fastify route with the same schema, in its own process.
  const bare = spawn(process.execPath, [...NODE_FLAGS, 'tools/bench/bare-server.ts'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const bareUrl = await new Promise<string>((resolve) =>
    createInterface({ input: bare.stdout }).on('line', (l) => l.includes('listening') && resolve(l.split(' ').at(-1)!)),
  );
  const bareCpu0 = await cpuMs(bare.pid!);
  const limit = await postOrders(bareUrl, seconds);
  const bareCpuPerRequest = (await cpuMs(bare.pid!)) - bareCpu0;
  bare.kill('SIGTERM');
  const httpLimit = `bare route ${limit.rps.toFixed(0)} req/s, ${((bareCpuPerRequest * 1000) / Math.max(1, limit.requests)).toFixed(0)} CPU-µs per request`;
  say(`HTTP limit: ${httpLimit}`);

  // Spans leave every second; at peak intake (10 000 spans/s and more) the default queue of 2048 spans would overflow
  // between exports and the traced figure would no longer be full tracing.
  const tracedGatewayEnv = { OTEL_BSP_SCHEDULE_DELAY: '1000', OTEL_BSP_MAX_QUEUE_SIZE: '16384' };
  // 2. The gateway alone: traced (OTLP JSON and OTLP protobuf) and untraced side by side; the ones not measured are
  //    stopped (SIGSTOP), so the one measured has the cores to itself. The rounds alternate the three.
  const variants = [
    { name: 'traced, OTLP JSON', env: { ...tracedGatewayEnv, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' } },
    { name: 'traced, OTLP protobuf', env: { ...tracedGatewayEnv, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' } },
    { name: 'untraced', env: untracedEnv },
  ].map((v) => ({
    ...v,
    gateway: start('gateway', v.env),
    url: '',
    cpu: [] as number[],
    peak: [] as number[],
    spans: [] as number[],
    sinkUsPerSpan: [] as number[],
    rss: 0,
  }));
  const gateways = variants.map((v) => v.gateway);
  for (const v of variants) v.url = (await v.gateway.ready)!;
  for (const v of variants) {
    only([v.gateway], gateways);
    await warmUp(v.url, false, WARM_UP_SECONDS);
  }
  // Each gateway's order history follows orders.status, where the others' orders are too: woken, a gateway would first
  // read every status the others wrote while it was stopped, and a traced one would make a consumer span for each, a
  // burst of tens of thousands that overflowed its span queue. The topics are emptied before each gateway is woken.
  for (let round = 1; round <= rounds; round++) {
    for (const v of variants) {
      await emptyTopics(broker.brokers);
      only([v.gateway], gateways);
      await pause(WAKE_MS);
      const result = (
        await cpuPerOrder(
          [{ url: v.url, pids: [v.gateway.child.pid!, sink.pid], runId: `bench-gateway-${round}` }],
          GATEWAY_RATE,
        )
      )[0]!;
      v.cpu.push(result.perOrder[0]! * 1000);
      if (v.env !== untracedEnv) {
        v.spans.push(result.spans / Math.max(1, result.orders));
        v.sinkUsPerSpan.push((result.perOrder[1]! * result.orders * 1000) / Math.max(1, result.spans));
      }
      say(
        `gateway ${v.name} at ${GATEWAY_RATE}/s, round ${round}: ${(result.perOrder[0]! * 1000).toFixed(0)} CPU-µs per order (${result.orders}/${result.sent} accepted)`,
      );
    }
  }
  for (let round = 1; round <= rounds; round++) {
    for (const v of variants) {
      await emptyTopics(broker.brokers);
      only([v.gateway], gateways);
      await pause(WAKE_MS);
      const result = await postOrders(v.url, Math.min(seconds, 4));
      v.peak.push(result.rps);
      say(
        `gateway ${v.name} peak intake, round ${round}: ${result.rps.toFixed(0)} req/s, p99 ${result.p99} ms, ${result.failed} failed`,
      );
    }
  }
  // What an Idempotency-Key costs a request: its claim is written to orders.status and read back before the order is
  // placed. The default gateway (traced, protobuf) at the same fixed rate, keyed and unkeyed in turn.
  const keyedLatency = { keyed: [] as number[][], unkeyed: [] as number[][] };
  const defaultGateway = variants[1]!;
  for (let round = 1; round <= rounds; round++) {
    for (const keyed of [false, true]) {
      await emptyTopics(broker.brokers);
      only([defaultGateway.gateway], gateways);
      await pause(WAKE_MS);
      const run = await runLoad({
        baseUrl: defaultGateway.url,
        scenario: fixedRate(GATEWAY_RATE, KEYED_SECONDS),
        runId: `bench-keys-${round}`,
        retryWithKeys: keyed,
      });
      const { p50, p99 } = run.expectedLatency;
      keyedLatency[keyed ? 'keyed' : 'unkeyed'].push([p50, p99]);
      say(
        `gateway ${keyed ? 'keyed' : 'unkeyed'} requests at ${GATEWAY_RATE}/s, round ${round}: p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms (${run.accepted.length}/${run.sent} accepted)`,
      );
    }
  }
  only(gateways, gateways);
  for (const v of variants) v.rss = await peakRssMb(v.gateway.child.pid!);
  await pause(1500);
  const dropped = variants
    .filter((v) => v.gateway.lines.some((line) => line.includes('spans dropped')))
    .map((v) => v.name);
  if (dropped.length > 0)
    say(`warning: spans dropped by the gateway (${dropped.join(', ')}); that figure is not full tracing`);
  await stopAll();
  const untracedGateway = variants.at(-1)!;
  for (const v of variants.slice(0, 2)) {
    const ratios = v.cpu.map((t, i) => t / untracedGateway.cpu[i]!);
    row(
      `gateway CPU per order at ${GATEWAY_RATE}/s, ${v.name}`,
      `${showSpread(v.cpu)} µs, ${showSpread(v.spans, 1)} spans per order`,
      `untraced ${showSpread(untracedGateway.cpu)} µs; ${httpLimit}`,
      `traced ${pct(spread(ratios).median, 1)} (${pct(spread(ratios).min, 1)} to ${pct(spread(ratios).max, 1)}); target ≤ +15 %`,
    );
  }
  for (const v of variants.slice(0, 2)) {
    const ratios = v.peak.map((t, i) => t / untracedGateway.peak[i]!);
    row(
      `gateway peak intake, 50 connections, ${v.name}`,
      `${showSpread(v.peak)} req/s`,
      `untraced ${showSpread(untracedGateway.peak)} req/s; bare route ${limit.rps.toFixed(0)} req/s`,
      `traced ${pct(spread(ratios).median, 1)} (${pct(spread(ratios).min, 1)} to ${pct(spread(ratios).max, 1)}); untraced ${(spread(untracedGateway.peak).median / limit.rps).toFixed(2)}× the bare route`,
    );
  }
  const latencyOf = (runs: number[][]) =>
    `p50 ${showSpread(
      runs.map((r) => r[0]!),
      1,
      ' ms',
    )}, p99 ${showSpread(
      runs.map((r) => r[1]!),
      1,
      ' ms',
    )}`;
  const keyedP50 = keyedLatency.keyed.map((r, i) => r[0]! / Math.max(1, keyedLatency.unkeyed[i]![0]!));
  row(
    `gateway answer with an Idempotency-Key at ${GATEWAY_RATE}/s, traced, OTLP protobuf`,
    latencyOf(keyedLatency.keyed),
    `unkeyed: ${latencyOf(keyedLatency.unkeyed)}`,
    `keyed p50 ${showSpread(keyedP50, 1, '×')} unkeyed`,
  );
  // Not a figure of the table: each gateway's order history (up to 100 000 orders) holds the orders it placed.
  say(
    `gateway alone, peak RSS with its own orders in its history: ${variants.map((v) => `${v.name} ${v.rss.toFixed(0)} MB (~${Math.round(((GATEWAY_RATE * seconds + spread(v.peak).median * Math.min(seconds, 4)) * rounds) / 1000)}k orders)`).join(', ')}`,
  );

  // 3. What a receiver costs per span, in its own process: the sink that only counts, and the embedded trace
  //    store (parsing and keeping every span), fed the gateway's own exports again.
  const store = await startReceiver('store');
  const storeCost: string[] = [];
  let storeUsPerJsonSpan = 0;
  const exports = await sink.samples();
  for (const contentType of [...new Set(exports.map((e) => e.contentType))]) {
    const bodies = exports.filter((e) => e.contentType === contentType).map((e) => e.body);
    const post = (body: Buffer) =>
      fetch(`${store.url}/v1/traces`, { method: 'POST', headers: { 'content-type': contentType }, body });
    const first = await post(bodies[0]!);
    await first.arrayBuffer();
    if (!first.ok) {
      storeCost.push(`${contentType} refused (${first.status})`);
      continue;
    }
    const [spans0, cpu0] = [(await store.count()).spans, await cpuMs(store.pid)];
    const until = performance.now() + (quick ? 1000 : 2500);
    for (let i = 0; performance.now() < until && i < 100_000; i++)
      await (await post(bodies[i % bodies.length]!)).arrayBuffer();
    const spans = (await store.count()).spans - spans0;
    const usPerSpan = (((await cpuMs(store.pid)) - cpu0) * 1000) / Math.max(1, spans);
    if (contentType.includes('json')) storeUsPerJsonSpan = usPerSpan;
    storeCost.push(`${contentType} ${usPerSpan.toFixed(1)} µs (${spans} spans)`);
  }
  await store.stop();
  row(
    'receiver CPU per span (own process, not in the figures above)',
    `counting sink ${showSpread(
      variants.flatMap((v) => v.sinkUsPerSpan),
      1,
    )} µs; trace store: ${storeCost.join(', ')}`,
    "the gateway's last exports replayed into the store",
    `trace store ${(storeUsPerJsonSpan * spread(variants[0]!.spans).median).toFixed(0)} µs per order at the gateway (JSON)`,
  );

  // The floor under the services' per-span cost: the SDK as the services set it up, with no instrumentation.
  say('the OpenTelemetry SDK alone, making and exporting spans in a loop…');
  const sdk = await measureSpanCost(sink, rounds, quick ? 2000 : 20_000, say);
  const aboveLoop = (figures: number[]) => figures.map((us, i) => us - sdk.untraced[i]!);
  const [made, protobuf, json] = [
    aboveLoop(sdk.made),
    aboveLoop(sdk['exported, OTLP protobuf']),
    aboveLoop(sdk['exported, OTLP JSON']),
  ];
  row(
    "OpenTelemetry SDK alone, CPU per span: the services' set-up, no instrumentation, spans shaped like the gateway's (own process, 40 000 spans/s)",
    `made and ended ${showSpread(made, 1)} µs; exported, OTLP protobuf ${showSpread(protobuf, 1)} µs, OTLP JSON ${showSpread(json, 1)} µs`,
    `above the same loop untraced, ${showSpread(sdk.untraced, 1)} µs a span`,
    `made and exported (protobuf) ${showSpread(
      protobuf.map((us, i) => us / made[i]!),
      1,
      '×',
    )} made alone; target ≤ 15 µs per span in the services`,
  );

  // The live monitor's cost to the store at 10 000 spans/s, with a page watching it. Five-second windows (seven until
  // the ladder reached 2 000/s) keep the whole run within its 8 minutes.
  say('the trace store at 10 000 spans/s with and without the live monitor…');
  const monitorCost = await measureMonitorCost(quick ? 1 : rounds, quick ? 2 : 5);
  const monitorRatios = monitorCost.withMonitor.map((cpu, i) => cpu / monitorCost.without[i]!);
  row(
    `trace store CPU at 10 000 spans/s (protobuf), live monitor on and watched (${monitorRatios.length} rounds)`,
    `${spread(monitorCost.withMonitor.map((c) => c * 100)).median.toFixed(1)} % of a core (${monitorCost.withMonitor.map((c) => (c * 100).toFixed(1)).join(', ')})`,
    `without the monitor ${spread(monitorCost.without.map((c) => c * 100)).median.toFixed(1)} % (${monitorCost.without.map((c) => (c * 100).toFixed(1)).join(', ')})`,
    `${pct(spread(monitorRatios).median, 1)} (${pct(spread(monitorRatios).min, 1)} to ${pct(spread(monitorRatios).max, 1)}); target ≤ +10 %`,
  );

  // The trace store's OTLP intake alone: SDK-made exports of 512 spans posted to a store process of its own.
  say('the trace store ingesting OTLP protobuf and JSON…');
  const ingestRounds = quick ? 3 : rounds;
  const ingest = await measureIngest(ingestRounds, quick ? 20 : 60);
  const perCpuSecond = (figures: typeof ingest.json) => figures.cpuMsPer1000Spans.map((ms) => 1_000_000 / ms);
  const medianOf = (list: number[]) =>
    percentile(
      [...list].sort((a, b) => a - b),
      50,
    );
  const [protobufCpu, jsonCpu] = [perCpuSecond(ingest.protobuf), perCpuSecond(ingest.json)];
  const ingestRow = (name: string, figures: typeof ingest.json, cpu: number[], limit: string, ratio: string) =>
    row(
      `trace store ingest, ${name}, 512-span exports, 4 at a time (median, min–max of ${ingestRounds} rounds)`,
      `${ingestSpread(figures.spansPerSecond)} spans/s; ${ingestSpread(cpu)} spans per CPU-second of the store`,
      limit,
      ratio,
    );
  ingestRow(
    'OTLP protobuf',
    ingest.protobuf,
    protobufCpu,
    '50 000 spans/s on one core',
    `${(medianOf(protobufCpu) / 50_000).toFixed(2)}× the target per CPU-second`,
  );
  ingestRow(
    'OTLP JSON',
    ingest.json,
    jsonCpu,
    'protobuf, same run',
    `${(medianOf(jsonCpu) / medianOf(protobufCpu)).toFixed(2)}× protobuf per CPU-second`,
  );

  // 4. The whole pipeline at a fixed rate, traced and untraced side by side, each on a broker of its own, so that the
  //    machine's other work hits both alike (rounds run in turn on shared cores swing widely). Each
  //    service's and broker's CPU per order (a broker's without its JIT compiler threads: the second one starts cold
  //    and compiles for minutes), the end-to-end p99, each Node process's peak RSS. The two swap brokers every round.
  const pipeline = { traced: [] as number[][], untraced: [] as number[][] };
  const rss: Record<string, number[]> = {};
  const latency: number[] = [];
  const names = ['validation', 'kitchen', 'gateway', 'broker'];
  // With several sides measured at once, side i's four processes in a list of every side's.
  const ofSide = <T>(values: T[], i: number) => values.slice(i * names.length, (i + 1) * names.length);
  const idle: Record<'traced' | 'untraced', number[]> = { traced: [], untraced: [] };
  const untracedBroker = await startLocalBroker();
  secondBroker = untracedBroker;
  brokerPids.add(untracedBroker.pid);
  try {
    for (let round = 1; round <= rounds; round++) {
      const brokers: [LocalBroker, LocalBroker] = round % 2 === 1 ? [broker, untracedBroker] : [untracedBroker, broker];
      await Promise.all(brokers.map((b) => emptyTopics(b.brokers)));
      const startedAt = Date.now();
      const sides = await startSides(brokers, { OTEL_BSP_SCHEDULE_DELAY: '1000' });
      if (round === 1) {
        // Idle: each process's CPU with nothing to do yet (heartbeats, fetch polls, timers), both sides at once, once
        // started and connected: at most 10 ms of CPU in 2 s (0.5 %) for each service.
        await pause(Math.max(0, startedAt + IDLE_AFTER_START_MS - Date.now()));
        const { percent } = await idleCpu(
          sides.flatMap((side) => side.pids),
          brokerPids,
          IDLE_SECONDS,
          { quietMs: 10, windowMs: 2000, limitMs: quick ? 6000 : 20_000 },
        );
        for (const [i, side] of sides.entries()) idle[side.which] = ofSide(percent, i);
      }
      await Promise.all(sides.map((side) => warmUp(side.url, true, WARM_UP_SECONDS)));
      const results = await cpuPerOrder(
        sides.map((side) => ({ url: side.url, pids: side.pids, runId: `bench-pipeline-${side.which}-${round}` })),
        PIPELINE_RATE,
        true,
      );
      for (const [i, side] of sides.entries()) {
        const result = results[i]!;
        pipeline[side.which].push(result.perOrder);
        if (side.which === 'traced') latency.push(result.latency.p99);
        for (const s of side.services) {
          const key = `${s.name} ${side.which}`;
          rss[key] = [...(rss[key] ?? []), await peakRssMb(s.child.pid!)];
        }
        say(
          `pipeline ${side.which} at ${PIPELINE_RATE}/s, round ${round}: ${result.perOrder.map((ms, j) => `${names[j]} ${ms.toFixed(2)}`).join(', ')} CPU-ms per order; ${result.ready}/${result.orders} ready, p99 ${result.latency.p99} ms`,
        );
      }
      await stopAll();
    }
  } finally {
    await stopAll();
  }
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const servicesOf = (perOrder: number[]) => sum(perOrder.slice(0, 3));
  const serviceRatios = pipeline.traced.map((t, i) => servicesOf(t) / servicesOf(pipeline.untraced[i]!));
  row(
    `services' CPU per order at ${PIPELINE_RATE}/s (validation + kitchen + gateway), traced`,
    `${showSpread(pipeline.traced.map(servicesOf), 2)} ms (${names
      .slice(0, 3)
      .map((n, i) => `${n} ${spread(pipeline.traced.map((p) => p[i]!)).median.toFixed(2)}`)
      .join(', ')})`,
    `untraced, side by side ${showSpread(pipeline.untraced.map(servicesOf), 2)} ms`,
    `traced ${pct(spread(serviceRatios).median, 1)} (${pct(spread(serviceRatios).min, 1)} to ${pct(spread(serviceRatios).max, 1)}); target ≤ +15 %`,
  );
  row(
    `whole pipeline CPU per order at ${PIPELINE_RATE}/s (services + broker), traced`,
    `${showSpread(pipeline.traced.map(sum), 2)} ms (broker ${spread(pipeline.traced.map((p) => p[3]!)).median.toFixed(2)})`,
    `untraced, side by side ${showSpread(pipeline.untraced.map(sum), 2)} ms`,
    `target ≤ 4 CPU-ms per order`,
  );
  const idleOf = (which: 'traced' | 'untraced') =>
    names.map((n, i) => `${n} ${idle[which][i]!.toFixed(2)} %`).join(', ');
  row(
    `idle CPU per process, no orders for ${IDLE_SECONDS} s from ${IDLE_AFTER_START_MS / 1000} s after start (% of a core), traced`,
    idleOf('traced'),
    `untraced: ${idleOf('untraced')}`,
    `highest service ${Math.max(...idle.traced.slice(0, 3), ...idle.untraced.slice(0, 3)).toFixed(2)} %; target ≤ 0.5 % per service`,
  );
  row(
    'peak RSS per process after the pipeline runs',
    Object.entries(rss)
      .filter(([k]) => k.endsWith(' traced'))
      .map(([k, v]) => `${k.replace(' traced', '')} ${spread(v).max.toFixed(0)} MB`)
      .join(', '),
    `untraced: ${Object.entries(rss)
      .filter(([k]) => k.endsWith('untraced'))
      .map(([k, v]) => `${k.replace(' untraced', '')} ${spread(v).max.toFixed(0)} MB`)
      .join(', ')}`,
    'target ≤ 150 MB (the highest of the rounds)',
  );

  // 5. Kafka's own yardsticks, then the pipeline's sustained rate (traced) and its end-to-end latency at half of it.
  await ensureTopics(createKafka('bench', [broker.brokers], createLogger('bench', 'warn')), [
    { name: 'bench.producer-performance', partitions: 6 },
    { name: 'bench.end-to-end-latency', partitions: 1 },
  ]);
  say('Kafka ProducerPerformance and EndToEndLatency…');
  const pp = await producerPerformance(
    broker.brokers,
    'bench.producer-performance',
    quick ? 5000 : 100_000,
    ORDER_RECORD_BYTES,
  );
  const kafkaHops = await orderHopsLatency(broker.brokers, quick ? 100 : 1000);
  // The ladder runs on two pipelines side by side, traced (on the first broker) and untraced (on the second), one
  // after the other at each rate, who goes first taking turns, so that the machine's drift hits both alike.
  await Promise.all([broker, untracedBroker].map((b) => emptyTopics(b.brokers)));
  const ladderSides = await startSides([broker, untracedBroker]);
  await Promise.all(ladderSides.map((side) => warmUp(side.url, true, WARM_UP_SECONDS)));
  // From here on the bench learns when orders are ready from orders.status, not from a GET per order to the gateway.
  const watches = await Promise.all(
    ladderSides.map((side) =>
      watchReady(createKafka(`bench-ready-${side.which}`, [side.broker.brokers], createLogger('bench', 'warn'))),
    ),
  );
  readers.push(...watches);
  const [gatewayUrl, ready] = [ladderSides[0]!.url, watches[0]!];
  // The cost curve: each process's CPU over each step of the ladder (load and settling), against its idle floor.
  const floor = await idleCpu(
    ladderSides.flatMap((side) => side.pids),
    brokerPids,
    IDLE_SECONDS,
  );
  const floorOf = (i: number) =>
    floor.pair.map((snapshot) => ({ ...snapshot, ms: ofSide(snapshot.ms, i) })) as typeof floor.pair;
  const curve: Record<'traced' | 'untraced', Array<{ rate: number; perOrder: number[]; total: number }>> = {
    traced: [],
    untraced: [],
  };
  let sustained = 0;
  // The highest rate held before any service dropped a span (its queue full): the sustained rate traced in full.
  let fullyTraced = 0;
  const droppedSpans = () =>
    ladderSides[0]!.services.filter((s) => s.lines.some((line) => line.includes('spans dropped'))).map((s) => s.name);
  // Up to the target; the ladder ends at the first rate the traced pipeline does not hold.
  const rates = quick ? [50, 100] : [50, 100, 200, 400, 800, 1200, 1600, 2000];
  ladder: for (const [r, rate] of rates.entries()) {
    const sidesInTurn = [...ladderSides.entries()];
    for (const [i, side] of r % 2 === 0 ? sidesInTurn : sidesInTurn.reverse()) {
      const stepStart = await cpuSnapshot(side.pids, brokerPids);
      const step = await ladderStep(side.url, watches[i]!, rate, quick ? 1 : 3, `bench-ladder-${side.which}-${rate}`);
      say(
        `pipeline ${side.which} at ${rate}/s: ${step.accepted}/${step.sent} accepted${step.skipped ? ` (${step.skipped} arrivals skipped: the client had its most requests waiting)` : ''}, ${step.ready} ready, last ready ${step.lastReadyMs} ms after the load ended${step.held ? '' : ' — backlog'}`,
      );
      // The traced pipeline's sustained rate ends the ladder; the untraced one is measured up to it.
      if (!step.held) {
        if (side.which === 'traced') break ladder;
        continue;
      }
      if (side.which === 'traced') {
        sustained = rate;
        if (droppedSpans().length === 0) fullyTraced = rate;
      }
      const stepEnd = await cpuSnapshot(side.pids, brokerPids);
      const perOrder = aboveIdle(floorOf(i), [stepStart, stepEnd]).map((ms) => ms / step.accepted);
      curve[side.which].push({ rate, perOrder, total: sum(perOrder) });
    }
  }
  const half = Math.max(50, Math.round(sustained / 2));
  // The last step's backlog (if it broke the ladder) drains before latency is measured.
  await pause(quick ? 500 : 2000);
  // A p99 of one short run is its few slowest orders: the latency is taken over the rounds, each settled before the next.
  const e2eRounds: Array<{ p50: number; p99: number }> = [];
  for (let round = 1; round <= rounds; round++) {
    const { p50, p99 } = await latencyRun(gatewayUrl, ready, half, seconds, 'bench-latency');
    e2eRounds.push({ p50, p99 });
    say(`end-to-end latency at ${half}/s, round ${round}: p50 ${p50} ms, p99 ${p99} ms`);
  }
  const droppedInPipeline = droppedSpans();
  await stopAll();
  row(
    'pipeline, HTTP call → ready, no simulated work, traced',
    `${sustained} orders/s sustained with no backlog${droppedInPipeline.length ? `; spans dropped by ${droppedInPipeline.join(', ')}, none up to ${fullyTraced}/s` : ', no span dropped'}`,
    `Kafka ProducerPerformance ${pp.recordsPerSec.toFixed(0)} records/s`,
    'target 2000 orders/s',
  );
  // Marginal cost: the slope of the pipeline's CPU-ms per order × rate against the rate, a least-squares line through
  // the steps sustained; what is left at rate 0 is the floor.
  const marginal = (steps: typeof curve.traced) => {
    const xs = steps.map((c) => c.rate);
    const ys = steps.map((c) => c.rate * c.total);
    const [meanX, meanY] = [sum(xs) / xs.length, sum(ys) / ys.length];
    const slope =
      xs.length < 2
        ? Number.NaN
        : sum(xs.map((x, i) => (x - meanX) * (ys[i]! - meanY))) / sum(xs.map((x) => (x - meanX) ** 2));
    return Number.isNaN(slope)
      ? 'marginal not measured (one rate sustained)'
      : `marginal ${slope.toFixed(2)} CPU-ms per order (slope over ${xs.length} rates)`;
  };
  const stepsOf = (steps: typeof curve.traced) =>
    steps.map((c) => `${c.rate}/s ${c.total.toFixed(2)} ms (broker ${c.perOrder[3]!.toFixed(2)})`).join(', ');
  const floorPercent = (i: number) => sum(ofSide(floor.percent, i)).toFixed(1);
  row(
    'pipeline CPU per order along the ladder, traced (validation + kitchen + gateway + broker, above idle)',
    stepsOf(curve.traced),
    `idle floor of the four processes ${floorPercent(0)} % of a core (untraced ${floorPercent(1)} %); untraced, on a broker of its own: ${stepsOf(curve.untraced)}, ${marginal(curve.untraced)}`,
    `${marginal(curve.traced)}; target ≤ 4 at 400/s`,
  );
  // Tracing's share at each rate: the services only (each side's broker is its own, started at another time).
  const services = (step: (typeof curve.traced)[number]) => sum(step.perOrder.slice(0, 3));
  const paired = curve.traced.flatMap((t) => {
    const u = curve.untraced.find((c) => c.rate === t.rate);
    return u ? [{ rate: t.rate, traced: services(t), untraced: services(u) }] : [];
  });
  row(
    "services' CPU per order along the ladder (validation + kitchen + gateway), traced",
    paired.map((p) => `${p.rate}/s ${p.traced.toFixed(2)} ms`).join(', '),
    `untraced, beside each traced step (who goes first takes turns): ${paired.map((p) => `${p.rate}/s ${p.untraced.toFixed(2)} ms`).join(', ')}`,
    `traced ${paired.map((p) => `${pct(p.traced, p.untraced)} at ${p.rate}/s`).join(', ')}; target ≤ +15 % at every rate`,
  );
  const [p50s, p99s] = [e2eRounds.map((r) => r.p50), e2eRounds.map((r) => r.p99)];
  row(
    `end-to-end latency at ${half} orders/s, traced`,
    `p50 ${showSpread(p50s, 0, ' ms')}, p99 ${showSpread(p99s, 0, ' ms')} (at ${PIPELINE_RATE}/s with two pipelines sharing the cores, early in the run: p99 ${showSpread(latency)} ms)`,
    `Kafka EndToEndLatency × 3 hops: p50 ${kafkaHops.p50Ms.toFixed(0)} ms, p99 ${kafkaHops.p99Ms.toFixed(0)} ms`,
    `p99 ${showSpread(
      p99s.map((p99) => p99 / Math.max(1, kafkaHops.p99Ms)),
      1,
      '×',
    )} the broker's (target ≤ 2×)`,
  );
  say(`done; ${availableParallelism()} cores`);
} finally {
  await stopAll();
  await Promise.all(readers.splice(0).map((r) => r.stop()));
  await sink.stop();
  await Promise.all([broker, secondBroker].map((b) => b?.stop()));
}

console.log(
  [
    '| figure | measured | limit, same run | ratio |',
    '| --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n'),
);
