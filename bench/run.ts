import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { createKafka, ensureTopics } from '../common/kafka.ts';
import { createLogger } from '../common/logger.ts';
import { percentiles } from '../common/stats.ts';
import { startLocalBroker } from '../kafka/local-broker.ts';
import { runLoad } from '../load/runner.ts';
import { NODE_FLAGS, startService } from '../scripts/services.ts';
import type { ServiceName, ServiceProcess } from '../scripts/services.ts';
import { openTraceStore } from '../tracestore/store.ts';
import { startTraceStoreServer } from '../tracestore/server.ts';
import { endToEndLatency, producerPerformance } from './kafka-tools.ts';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

// `npm run bench [-- --quick]`: every figure beside its limit, measured in one run on this machine.
const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false } } });
const seconds = values.quick ? 3 : 10;
const say = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const example = { customerName: 'Aiko Tanaka', deliveryAddress: { street: '12 Fulton Street', city: 'New York', zip: '10038' }, items: [{ menuItemId: 'tuna-nigiri', quantity: 2 }, { menuItemId: 'miso-soup', quantity: 1 }] };
const body = JSON.stringify(example);
const rows: Array<[string, string, string, string]> = [];
const row = (what: string, figure: string, limit: string, ratio: string) => {
  rows.push([what, figure, limit, ratio]);
  say(`${what}: ${figure}  (limit ${limit}; ${ratio})`);
};

async function peakRssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

async function intake(url: string) {
  const result = await autocannon({ url: `${url}/orders/online`, method: 'POST', headers: { 'content-type': 'application/json' }, body, connections: 50, duration: seconds });
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx + result.errors };
}

let broker = await startLocalBroker();
const store = await startTraceStoreServer(await openTraceStore({ maxSpans: 2_000_000 }), { otlpPort: 0, queryPort: 0 });
const running: ServiceProcess[] = [];
const baseEnv = { KAFKA_BROKERS: broker.brokers, PORT: '0', LOG_LEVEL: 'warn', ITUNA_ORDERS_PER_MINUTE: '0', OTEL_EXPORTER_OTLP_ENDPOINT: store.otlpUrl };
// Readiness is read from info lines, so the services log at info while starting; they are quiet under load anyway.
const start = async (name: ServiceName, env: Record<string, string> = {}) => {
  const service = startService(name, { ...baseEnv, LOG_LEVEL: 'info', ...env });
  running.push(service);
  return (await service.ready)!;
};
const stopAll = async () => {
  await Promise.all(running.splice(0).map((s) => s.stop()));
};

try {
  say(`broker ${broker.brokers}; ${seconds} s per HTTP measurement, 50 connections`);

  // 1. The HTTP limit: a bare Fastify route with the same schema, in its own process.
  const bare = spawn(process.execPath, [...NODE_FLAGS, 'bench/bare-server.ts'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const bareUrl = await new Promise<string>((resolve) => createInterface({ input: bare.stdout }).on('line', (l) => l.includes('listening') && resolve(l.split(' ').at(-1)!)));
  const limit = await intake(bareUrl);
  bare.kill('SIGTERM');

  // 2. The gateway, traced at 100% into a local OTLP receiver, then with the SDK disabled.
  const traced = await intake(await start('gateway'));
  await stopAll();
  const untraced = await intake(await start('gateway', { OTEL_SDK_DISABLED: 'true' }));
  await stopAll();
  row('gateway intake (POST /orders/online, traced)', `${traced.rps.toFixed(0)} req/s, p50 ${traced.p50} ms, p99 ${traced.p99} ms`, `bare route ${limit.rps.toFixed(0)} req/s, p99 ${limit.p99} ms`, `${(traced.rps / limit.rps).toFixed(2)}× the HTTP limit`);
  row('tracing overhead', `traced ${traced.rps.toFixed(0)} req/s`, `untraced ${untraced.rps.toFixed(0)} req/s`, `${((1 - traced.rps / untraced.rps) * 100).toFixed(1)}% fewer req/s with tracing`);
  if (traced.non2xx + untraced.non2xx > 0) say(`warning: ${traced.non2xx + untraced.non2xx} non-2xx or failed requests during intake`);

  // 3. The whole pipeline with no simulated work: the highest open-loop rate that drains with no backlog.
  // A fresh broker, so the workers do not start with the intake runs' orders queued in front of them.
  await broker.stop();
  broker = await startLocalBroker();
  baseEnv.KAFKA_BROKERS = broker.brokers;
  // The broker creates no topic by itself: the yardsticks get theirs like the pipeline's, 6 partitions and 1.
  await ensureTopics(createKafka('bench', [broker.brokers], createLogger('bench', 'warn')), [
    { name: 'bench.producer-performance', partitions: 6 },
    { name: 'bench.end-to-end-latency', partitions: 1 },
  ]);
  const pp = await producerPerformance(broker.brokers, 'bench.producer-performance', values.quick ? 20_000 : 100_000, body.length + 150);
  const e2e = await endToEndLatency(broker.brokers, 'bench.end-to-end-latency', values.quick ? 300 : 2000, body.length + 150);
  const gatewayUrl = await start('validation', { ITUNA_DELAYS: 'address=0,name=0,inventory=0,cook=0' }).then(() =>
    Promise.all([start('kitchen', { ITUNA_DELAYS: 'address=0,name=0,inventory=0,cook=0', ITUNA_KITCHEN_CHEFS: '64' }), start('gateway')]).then(([, url]) => url),
  );
  const settle = async (orderIds: string[], limitMs: number) => {
    const started = Date.now();
    const readyAt = new Map<string, number>();
    while (readyAt.size < orderIds.length && Date.now() - started < limitMs) {
      for (const id of orderIds.filter((o) => !readyAt.has(o))) {
        const order = (await (await fetch(`${gatewayUrl}/orders/${id}`)).json()) as { status?: string; history?: Array<{ status: string; at: string }> };
        const ready = order.history?.find((h) => h.status === 'ready');
        if (ready) readyAt.set(id, Date.parse(ready.at));
      }
    }
    return readyAt;
  };
  let sustained = 0;
  for (const rate of values.quick ? [50, 100] : [50, 100, 200, 400, 600, 800, 1000, 1200]) {
    const scenario = { description: 'bench', startRate: rate, stages: [{ seconds: Math.max(4, seconds / 2), target: rate }], maxInFlight: 1000 };
    const summary = await runLoad({ baseUrl: gatewayUrl, scenario, runId: `bench-${rate}` });
    const loadEnded = Date.now();
    const readyAt = await settle(summary.accepted.map((a) => a.orderId), 15_000);
    const lastReady = readyAt.size > 0 ? Math.max(...readyAt.values()) : Infinity;
    const backlogMs = lastReady - loadEnded;
    const ok = readyAt.size === summary.accepted.length && summary.accepted.length >= summary.sent * 0.99 && backlogMs < 1000;
    say(`pipeline at ${rate}/s: ${summary.accepted.length}/${summary.sent} accepted, ${readyAt.size} ready, last ready ${backlogMs} ms after the load ended${ok ? '' : ' — backlog'}`);
    if (!ok) break;
    sustained = rate;
  }
  row('pipeline, HTTP call → ready, no simulated work', `${sustained} orders/s sustained with no backlog`, `HTTP limit ${limit.rps.toFixed(0)} req/s; Kafka ProducerPerformance ${pp.recordsPerSec.toFixed(0)} records/s`, `${(sustained / limit.rps).toFixed(2)}× the HTTP limit`);

  // 4. End-to-end latency at half the sustained rate, against the broker's own produce→consume latency × 3 hops.
  const half = Math.max(10, Math.round(sustained / 2));
  const run = await runLoad({ baseUrl: gatewayUrl, scenario: { description: 'bench', startRate: half, stages: [{ seconds, target: half }], maxInFlight: 1000 }, runId: 'bench-latency' });
  const readyAt = await settle(run.accepted.map((a) => a.orderId), 20_000);
  const latency = percentiles(run.accepted.filter((a) => readyAt.has(a.orderId)).map((a) => readyAt.get(a.orderId)! - a.sentAt));
  row(`end-to-end latency at ${half} orders/s`, `p50 ${latency.p50} ms, p99 ${latency.p99} ms`, `Kafka EndToEndLatency × 3 hops: p50 ${(e2e.p50Ms * 3).toFixed(0)} ms, p99 ${(e2e.p99Ms * 3).toFixed(0)} ms`, `p99 ${(latency.p99 / Math.max(1, e2e.p99Ms * 3)).toFixed(1)}× the broker's`);

  // 5. Memory: the peak resident set of each Node process over the pipeline runs.
  const rss = await Promise.all(running.map(async (s) => `${s.name} ${(await peakRssMb(s.child.pid!)).toFixed(0)} MB`));
  row('peak RSS per process', rss.join(', '), '150 MB target', '');
  await stopAll();
} finally {
  await stopAll();
  await store.close();
  await broker.stop();
}

console.log(['| figure | measured | limit, same run | ratio |', '| --- | --- | --- | --- |', ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n'));
