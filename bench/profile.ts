import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startLocalBroker } from '../kafka/local-broker.ts';
import { startService } from '../start/services.ts';
import { openTraceStore } from '../tracestore/store.ts';
import { startTraceStoreServer } from '../tracestore/server.ts';
import { summarizeProfile } from './cpu-profile.ts';
import { postOrders } from './intake.ts';
import type { CpuProfile, Share } from './cpu-profile.ts';

// `npm run bench:profile [-- --untraced] [--seconds N]`: where the gateway's CPU goes under intake load.
// The gateway runs with `node --cpu-prof`, 50 connections post orders, and the profile's self time is summarised
// by package and by function; the .cpuprofile file stays for Chrome DevTools or any other profile viewer.
const { values } = parseArgs({ options: { untraced: { type: 'boolean', default: false }, seconds: { type: 'string', default: '10' } } });
const seconds = Number(values.seconds);
if (!Number.isInteger(seconds) || seconds < 1 || seconds > 120) throw new Error('--seconds must be a whole number from 1 to 120');
const root = join(import.meta.dirname, '..');
const dir = join(root, '.cache', 'profiles', values.untraced ? 'untraced' : 'traced');
await rm(dir, { recursive: true, force: true });
await mkdir(dir, { recursive: true });

const broker = await startLocalBroker();
const store = await startTraceStoreServer(await openTraceStore({ maxSpans: 500_000 }), { otlpPort: 0, queryPort: 0 });
const gateway = startService(
  'gateway',
  {
    KAFKA_BROKERS: broker.brokers, PORT: '0', LOG_LEVEL: 'info', ITUNA_ORDERS_PER_MINUTE: '0',
    OTEL_EXPORTER_OTLP_ENDPOINT: store.otlpUrl, OTEL_SDK_DISABLED: String(values.untraced),
  },
  { nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${dir}`] },
);
try {
  const url = (await gateway.ready)!;
  const result = await postOrders(url, seconds);
  process.stderr.write(`[profile] ${result.rps.toFixed(0)} req/s, p99 ${result.p99} ms, ${result.failed} not 2xx\n`);
} finally {
  await gateway.stop();
  await store.close();
  await broker.stop();
}

const [file] = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile'));
if (!file) throw new Error(`the gateway wrote no profile into ${dir}`);
const summary = summarizeProfile(JSON.parse(await readFile(join(dir, file), 'utf8')) as CpuProfile, root, 25);
const table = (title: string, shares: Share[]) =>
  [`| ${title} | self ms | % of profile |`, '| --- | --- | --- |', ...shares.map((s) => `| ${s.name} | ${s.ms.toFixed(0)} | ${s.percent.toFixed(1)} |`)].join('\n');
console.log(`Gateway ${values.untraced ? 'untraced' : 'traced'}: ${summary.totalMs.toFixed(0)} ms profiled, ${summary.busyMs.toFixed(0)} ms busy (${join(dir, file).slice(root.length + 1)})\n`);
console.log(`${table('owner', summary.byOwner)}\n\n${table('function', summary.byFunction)}`);
