import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startLocalBroker } from '../local-kafka/cluster.ts';
import { runLoad } from '../../load/runner.ts';
import { spawnService } from '../start/spawn-service.ts';
import type { ServiceName } from '../start/spawn-service.ts';
import { openTraceStore } from '../tracestore/store.ts';
import { startTraceStoreServer } from '../tracestore/server.ts';
import {
  brokerThreadCpu,
  canProfileBroker,
  printExecutionSamples,
  recordBroker,
  summarizeExecutionSamples,
  threadCpuBetween,
} from './broker-profile.ts';
import { selfTime, summarizeProfile } from './cpu-profile.ts';
import type { CpuProfile, ProfileWindow, Share } from './cpu-profile.ts';
import { postOrders } from './intake.ts';
import { requestsBetween } from './kafka-requests.ts';
import type { RequestCounts } from './kafka-requests.ts';
import { aboveIdle, cpuSnapshot, emptyTopics, pause, quiet, startReceiver } from './measure.ts';
import { PIPELINE_ENV, fixedRate, keptUp, settle, warmUp } from './pipeline.ts';

// `npm run bench:profile [-- --untraced] [--seconds N]`: where the gateway's CPU goes under intake load.
// The gateway runs with `node --cpu-prof`, 50 connections post orders, and the profile's self time is summarised
// by package and by function; the .cpuprofile file stays for Chrome DevTools or any other profile viewer.
//
// `npm run bench:profile -- --pipeline [--rate R] [--seconds N]`: where the whole pipeline's CPU goes per order, traced
// and untraced side by side, each on a broker of its own. Gateway, validation and kitchen each run under
// `node --cpu-prof` at a fixed rate (50 orders/s each unless told) while the counting sink takes the spans; each
// service's CPU per order (from /proc, idle subtracted) is shared out by package and by function as its profile saw
// the load. Where the JDK's `jcmd` and `jfr` are installed, the broker's CPU per order by thread and its Flight
// Recorder samples by package and by Kafka method as well.
const { values } = parseArgs({
  options: {
    untraced: { type: 'boolean', default: false },
    pipeline: { type: 'boolean', default: false },
    seconds: { type: 'string' },
    rate: { type: 'string', default: '50' },
  },
});
const seconds = Number(values.seconds ?? (values.pipeline ? 20 : 10));
if (!Number.isInteger(seconds) || seconds < 1 || seconds > 120)
  throw new Error('--seconds must be a whole number from 1 to 120');
const rate = Number(values.rate);
if (!Number.isInteger(rate) || rate < 1 || rate > 5000) throw new Error('--rate must be a whole number from 1 to 5000');
const root = join(import.meta.dirname, '..', '..');
const say = (line: string) => process.stderr.write(`[profile] ${line}\n`);
const table = (header: string[], rows: Array<Array<string | number>>) =>
  [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');

async function readProfile(dir: string): Promise<CpuProfile> {
  const [file] = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no profile was written into ${dir}`);
  return JSON.parse(await readFile(join(dir, file), 'utf8')) as CpuProfile;
}

async function profileGateway() {
  const dir = join(root, '.cache', 'profiles', values.untraced ? 'untraced' : 'traced');
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const broker = await startLocalBroker();
  const store = await startTraceStoreServer(await openTraceStore({ maxSpans: 500_000 }), { otlpPort: 0, queryPort: 0 });
  const gateway = spawnService(
    'gateway',
    {
      KAFKA_BROKERS: broker.brokers,
      PORT: '0',
      LOG_LEVEL: 'info',
      ITUNA_ORDERS_PER_MINUTE: '0',
      OTEL_EXPORTER_OTLP_ENDPOINT: store.otlpUrl,
      OTEL_SDK_DISABLED: String(values.untraced),
    },
    { nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${dir}`] },
  );
  try {
    const url = (await gateway.ready)!;
    const result = await postOrders(url, seconds);
    say(`${result.rps.toFixed(0)} req/s, p99 ${result.p99} ms, ${result.failed} not 2xx`);
  } finally {
    await gateway.stop();
    await store.close();
    await broker.stop();
  }
  const [file] = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile'));
  const summary = summarizeProfile(await readProfile(dir), root, 25);
  const shares = (title: string, list: Share[]) =>
    table(
      [title, 'self ms', '% of profile'],
      list.map((s) => [s.name, s.ms.toFixed(0), s.percent.toFixed(1)]),
    );
  console.log(
    `Gateway ${values.untraced ? 'untraced' : 'traced'}: ${summary.totalMs.toFixed(0)} ms profiled, ${summary.busyMs.toFixed(0)} ms busy (${join(dir, file!).slice(root.length + 1)})\n`,
  );
  console.log(`${shares('owner', summary.byOwner)}\n\n${shares('function', summary.byFunction)}`);
}

const SERVICES: ServiceName[] = ['gateway', 'validation', 'kitchen'];
/** The monotonic clock in microseconds, the clock of a `.cpuprofile`'s timestamps. */
const nowUs = () => Number(process.hrtime.bigint() / 1000n);

/** What one profiled run of the pipeline gives: per order, CPU by owner and function in each service, and the broker's. */
interface PipelineRun {
  orders: number;
  /** Set when the pipeline under the profiler did not keep up with the rate: what happened, for the report. */
  overloaded?: string;
  /** CPU-ms per order above idle, from /proc: each service, then the broker. */
  cpuMs: number[];
  owners: Record<string, Map<string, number>>;
  functions: Record<string, Map<string, number>>;
  brokerThreads: Array<{ group: string; ms: number }>;
  jfr?: ReturnType<typeof summarizeExecutionSamples>;
  /** Kafka requests per order in the load, each service's by API (`tools/bench/kafka-requests.ts`). */
  requests: Record<string, Map<string, number>>;
}

/** Per order, `load` less `idle` scaled to the load's length (a process's background work is not the orders'). */
function perOrder(
  load: Map<string, number>,
  idle: Map<string, number>,
  ratio: number,
  orders: number,
): Map<string, number> {
  const result = new Map<string, number>();
  for (const [key, value] of load) result.set(key, Math.max(0, value - (idle.get(key) ?? 0) * ratio) / orders);
  return result;
}

/**
 * A service's self time in the load, per owner and function, as µs of its CPU per order: the profiler samples the
 * main thread on the wall clock, so on shared cores a thread waiting for a core counts as busy wherever it was
 * interrupted; the busy samples' shares are right, their sum is not. Each share is therefore applied to the CPU the
 * process used per order (from /proc, idle subtracted), which also covers its other threads (part of the garbage
 * collection, the compiler).
 */
function asCpuPerOrder(profile: CpuProfile, window: ProfileWindow, cpuUsPerOrder: number) {
  const { owners, functions } = selfTime(profile, root, window);
  const busyUs = [...owners].filter(([owner]) => owner !== '(idle)').reduce((sum, [, us]) => sum + us, 0);
  const scale = (map: Map<string, number>) =>
    new Map(
      [...map]
        .filter(([key]) => key !== '(idle)')
        .map(([key, us]) => [key, (us / Math.max(1, busyUs)) * cpuUsPerOrder]),
    );
  return { owners: scale(owners), functions: scale(functions) };
}

/** Threads the measurement itself adds to the broker (jcmd's attach listener, the Flight Recorder's own). */
const profilerThread = (group: string) => group === 'Attach Listener' || group.startsWith('JFR ');

/** Resolves for every caller once `parties` callers are waiting: two runs side by side take each step together. */
function barrier(parties: number): () => Promise<void> {
  let waiting: Array<() => void> = [];
  return () =>
    new Promise<void>((resolve) => {
      waiting.push(resolve);
      if (waiting.length === parties) {
        for (const release of waiting) release();
        waiting = [];
      }
    });
}

async function profilePipelineRun(
  brokers: string,
  brokerPid: number,
  sinkUrl: string,
  which: 'traced' | 'untraced',
  withJfr: boolean,
  together: () => Promise<void>,
): Promise<PipelineRun> {
  await emptyTopics(brokers);
  const dir = join(root, '.cache', 'profiles', 'pipeline', which);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const env = {
    KAFKA_BROKERS: brokers,
    PORT: '0',
    LOG_LEVEL: 'info',
    ITUNA_ORDERS_PER_MINUTE: '0',
    OTEL_EXPORTER_OTLP_ENDPOINT: sinkUrl,
    ...PIPELINE_ENV,
    ...(which === 'untraced' ? { OTEL_SDK_DISABLED: 'true' } : { OTEL_BSP_SCHEDULE_DELAY: '1000' }),
  };
  const requestsFile = (name: ServiceName) => join(dir, `${name}.kafka-requests.json`);
  const services = SERVICES.map((name) =>
    spawnService(
      name,
      { ...env, ITUNA_BENCH_KAFKA_REQUESTS: requestsFile(name) },
      {
        nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${join(dir, name)}`, '--import', './tools/bench/kafka-requests.ts'],
      },
    ),
  );
  const pids = [...services.map((s) => s.child.pid!), brokerPid];
  let load: ProfileWindow, orders: number;
  // The same window on the wall clock, for the request counts.
  const loadMs = { from: 0, to: 0 };
  let cpu: number[];
  let brokerThreads: PipelineRun['brokerThreads'];
  let overloaded: string | undefined;
  try {
    const url = (await Promise.all(services.map((s) => s.ready)))[0]!;
    await together();
    await warmUp(url, true, 10);
    await together();
    await quiet(pids.slice(0, 3));
    await together();
    // What each process does with no orders (fetch polls, heartbeats, exports), to subtract.
    const threads0 = { at: nowUs(), cpu: await brokerThreadCpu(brokerPid) };
    const idle0 = await cpuSnapshot(pids);
    await pause(4000);
    const idle1 = await cpuSnapshot(pids);
    const threads1 = { at: nowUs(), cpu: await brokerThreadCpu(brokerPid) };
    const recording = withJfr ? await recordBroker(brokerPid, join(dir, 'broker.jfr')) : undefined;
    await together();
    const load0 = await cpuSnapshot(pids);
    load = { fromUs: nowUs(), toUs: 0 };
    loadMs.from = Date.now();
    const run = await runLoad({ baseUrl: url, scenario: fixedRate(rate, seconds), runId: `profile-${which}` });
    const ready = await settle(
      url,
      run.accepted.map((a) => a.orderId),
      15_000,
    );
    // Spans leave every second: the last exports belong to these orders.
    await pause(1500);
    await together();
    load.toUs = nowUs();
    loadMs.to = Date.now();
    const load1 = await cpuSnapshot(pids);
    const threads2 = { at: nowUs(), cpu: await brokerThreadCpu(brokerPid) };
    await recording?.stop();
    orders = Math.max(1, run.accepted.length);
    say(`${which}: ${run.accepted.length}/${run.sent} orders accepted at ${rate}/s, ${ready.size} ready`);
    if (!keptUp(run, ready.size))
      overloaded = `${which}: ${run.accepted.length} of ${run.sent + run.skipped} orders accepted, ${ready.size} ready`;
    cpu = aboveIdle([idle0, idle1], [load0, load1]).map((ms) => ms / orders);
    const idleThreads = new Map(threadCpuBetween(threads0.cpu, threads1.cpu).map((t) => [t.group, t.ms]));
    const loadThreads = new Map(threadCpuBetween(threads1.cpu, threads2.cpu).map((t) => [t.group, t.ms]));
    brokerThreads = [
      ...perOrder(loadThreads, idleThreads, (threads2.at - threads1.at) / (threads1.at - threads0.at), orders),
    ]
      .filter(([group]) => !profilerThread(group))
      .map(([group, ms]) => ({ group, ms }))
      .sort((a, b) => b.ms - a.ms);
  } finally {
    // Each service writes its profile as it exits.
    await Promise.all(services.map((s) => s.stop()));
  }
  const owners: PipelineRun['owners'] = {};
  const functions: PipelineRun['functions'] = {};
  const requests: PipelineRun['requests'] = {};
  for (const [i, name] of SERVICES.entries()) {
    const counts = JSON.parse(await readFile(requestsFile(name), 'utf8')) as RequestCounts;
    requests[name] = new Map([...requestsBetween(counts, loadMs.from, loadMs.to)].map(([api, n]) => [api, n / orders]));
    const shares = asCpuPerOrder(await readProfile(join(dir, name)), load, cpu[i]! * 1000);
    owners[name] = shares.owners;
    functions[name] = shares.functions;
  }
  const jfr = withJfr ? summarizeExecutionSamples(await printExecutionSamples(join(dir, 'broker.jfr'))) : undefined;
  return {
    orders,
    cpuMs: cpu,
    owners,
    functions,
    brokerThreads,
    requests,
    ...(jfr ? { jfr } : {}),
    ...(overloaded ? { overloaded } : {}),
  };
}

async function profilePipeline() {
  // Traced and untraced side by side, each on a broker of its own, taking each step together: the machine's other
  // work hits both alike.
  const brokers = await Promise.all([startLocalBroker(), startLocalBroker()]);
  const sink = await startReceiver('count');
  const withJfr = await canProfileBroker();
  if (!withJfr)
    say("the JDK's jcmd and jfr are not on PATH: the broker's CPU by thread and Flight Recorder samples are left out");
  const runs: Partial<Record<'traced' | 'untraced', PipelineRun>> = {};
  try {
    say(
      `the pipeline traced and untraced side by side at ${rate} orders/s each for ${seconds} s, each service under node --cpu-prof…`,
    );
    const together = barrier(2);
    await Promise.all(
      (['traced', 'untraced'] as const).map(async (which, i) => {
        runs[which] = await profilePipelineRun(
          brokers[i]!.brokers,
          brokers[i]!.pid,
          sink.url,
          which,
          withJfr,
          together,
        );
      }),
    );
  } finally {
    await sink.stop();
    await Promise.all(brokers.map((b) => b.stop()));
  }
  const { traced, untraced } = runs as Record<'traced' | 'untraced', PipelineRun>;
  const us = (n: number | undefined) => (n ?? 0).toFixed(0);
  const lines: string[] = [
    `Pipeline at ${rate} orders/s for ${seconds} s, no simulated work, traced and untraced side by side: CPU per order above idle (from /proc), traced / untraced:`,
    `${[...SERVICES, 'broker']
      .map((name, i) => `${name} ${traced.cpuMs[i]!.toFixed(2)} / ${untraced.cpuMs[i]!.toFixed(2)} ms`)
      .join(', ')}.`,
    "Below, each service's CPU per order shared out as node --cpu-prof saw its main thread in the load (self time; the profiler's own cost included).",
  ];
  // Under the profiler every service is slower: past the rate it can carry, the figures are an overload's (refusals,
  // queues), not an order's.
  const overloads = [traced.overloaded, untraced.overloaded].filter((o) => o !== undefined);
  if (overloads.length > 0)
    lines.unshift(
      `WARNING: the pipeline under the profiler did not keep up at ${rate} orders/s (${overloads.join('; ')}): its figures per order are an overload's. Run again at a lower --rate.\n`,
    );
  for (const name of SERVICES) {
    const keys = [...new Set([...traced.owners[name]!.keys(), ...untraced.owners[name]!.keys()])];
    const total = (map: Map<string, number>) => [...map.values()].reduce((a, b) => a + b, 0);
    const rows = keys
      .map((k) => [k, traced.owners[name]!.get(k) ?? 0, untraced.owners[name]!.get(k) ?? 0] as const)
      .sort((a, b) => b[1] - a[1])
      .filter((r) => r[1] >= 5 || r[2] >= 5)
      .map(([k, t, u]) => [k, us(t), us(u), `${t - u >= 0 ? '+' : ''}${us(t - u)}`]);
    lines.push(
      `\n### ${name}: ${us(total(traced.owners[name]!))} µs per order traced, ${us(total(untraced.owners[name]!))} untraced\n`,
    );
    lines.push(table(['owner', 'traced µs/order', 'untraced µs/order', 'difference'], rows));
    const fnKeys = [...new Set([...traced.functions[name]!.keys(), ...untraced.functions[name]!.keys()])];
    const byDifference = fnKeys
      .map((k) => [k, (traced.functions[name]!.get(k) ?? 0) - (untraced.functions[name]!.get(k) ?? 0)] as const)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 15)
      .map(([k, d]) => [k, us(traced.functions[name]!.get(k)), us(untraced.functions[name]!.get(k)), `+${us(d)}`]);
    lines.push(
      `\nFunctions that cost most more when traced:\n\n${table(['function', 'traced µs/order', 'untraced µs/order', 'difference'], byDifference)}`,
    );
  }
  // Requests per order of one run, by service and in all, for one API or (api undefined) every API.
  const perOrderOf = (run: PipelineRun, name: string, api?: string) =>
    api === undefined
      ? [...run.requests[name]!.values()].reduce((a, b) => a + b, 0)
      : (run.requests[name]!.get(api) ?? 0);
  const allOf = (run: PipelineRun, api?: string) => SERVICES.reduce((sum, name) => sum + perOrderOf(run, name, api), 0);
  const requestRow = (label: string, api?: string) => [
    label,
    ...SERVICES.map(
      (name) => `${perOrderOf(traced, name, api).toFixed(2)} / ${perOrderOf(untraced, name, api).toFixed(2)}`,
    ),
    `${allOf(traced, api).toFixed(2)} / ${allOf(untraced, api).toFixed(2)}`,
  ];
  const apis = [
    ...new Set(SERVICES.flatMap((name) => [...traced.requests[name]!.keys(), ...untraced.requests[name]!.keys()])),
  ].sort((a, b) => allOf(traced, b) - allOf(traced, a));
  const requestRows = [...apis.map((api) => requestRow(api, api)), requestRow('all')];
  lines.push(
    `\n### Kafka requests per order, by API (answered during the load, counted in each service; traced / untraced): ${(allOf(traced) * rate).toFixed(0)} / ${(allOf(untraced) * rate).toFixed(0)} a second in all\n\n${table(['API', ...SERVICES, 'all three'], requestRows)}`,
  );
  if (withJfr) {
    const groups = [...new Set([...traced.brokerThreads, ...untraced.brokerThreads].map((t) => t.group))];
    const ms = (list: PipelineRun['brokerThreads'], group: string) => list.find((t) => t.group === group)?.ms ?? 0;
    const threadRows = groups
      .map((g) => [g, ms(traced.brokerThreads, g), ms(untraced.brokerThreads, g)] as const)
      .filter((r) => r[1] >= 0.005 || r[2] >= 0.005)
      .sort((a, b) => b[1] - a[1])
      .map(([g, t, u]) => [g, (t * 1000).toFixed(0), (u * 1000).toFixed(0)]);
    lines.push(
      `\n### broker: CPU per order by thread (jcmd Thread.print, idle subtracted; the profiler's threads left out)\n\n${table(['thread', 'traced µs/order', 'untraced µs/order'], threadRows)}`,
    );
    const pct = (list: Array<{ name: string; percent: number }>) => list.map((s) => [s.name, s.percent.toFixed(1)]);
    const jfr = traced.jfr!;
    lines.push(
      `\nBroker, traced run: ${jfr.samples} Flight Recorder execution samples (threads running Java code; time in the kernel or waiting is not sampled).\n`,
    );
    lines.push(`${table(['package of the frame on top', '% of samples'], pct(jfr.byPackage))}\n`);
    lines.push(`${table(['nearest Kafka method on the stack', '% of samples'], pct(jfr.byKafkaMethod))}\n`);
    lines.push(table(['thread', '% of samples'], pct(jfr.byThread)));
  }
  lines.push(
    `\nProfiles: .cache/profiles/pipeline/{traced,untraced}/<service>/*.cpuprofile${withJfr ? ' and broker.jfr' : ''}`,
  );
  console.log(lines.join('\n'));
}

if (values.pipeline) await profilePipeline();
else await profileGateway();
