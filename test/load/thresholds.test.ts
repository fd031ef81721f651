import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, it } from 'node:test';
import { promisify } from 'node:util';
import { judge } from '../../load/runner.ts';
import type { LoadSummary } from '../../load/runner.ts';
import { DEFAULT_THRESHOLDS } from '../../load/scenarios.js';
import { spawnService } from '../../tools/start/spawn-service.ts';
import type { ServiceProcess } from '../../tools/start/spawn-service.ts';
import { testBrokers } from '../support/broker.ts';

// The scenarios' thresholds fail a run as k6 fails one: from `npm run load`, with exit code 99 and what was crossed.
const root = new URL('../../', import.meta.url).pathname;
const gateways: ServiceProcess[] = [];
let open: string;
let limited: string;

before(async () => {
  const brokers = await testBrokers();
  const start = (env: Record<string, string>) => {
    const gateway = spawnService('gateway', { KAFKA_BROKERS: brokers, OTEL_SDK_DISABLED: 'true', PORT: '0', ...env });
    gateways.push(gateway);
    return gateway.ready as Promise<string>;
  };
  [open, limited] = await Promise.all([start({}), start({ ITUNA_ORDERS_PER_MINUTE: '5' })]);
});
after(() => Promise.all(gateways.map((g) => g.stop())));

const load = (url: string) =>
  promisify(execFile)(process.execPath, ['load/run.ts', 'steady', '--scale', '0.05', '--url', url], {
    cwd: root,
    timeout: 60_000,
  }).then(
    ({ stdout }) => ({ code: 0, stdout, stderr: '' }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );

it('When a scenario runs within its thresholds, then npm run load says each held and exits 0', async () => {
  const run = await load(open);
  assert.equal(run.code, 0, run.stderr);
  for (const metric of ['checks', 'http_req_failed', 'http_req_duration', 'dropped_iterations'])
    assert.match(run.stdout, new RegExp(`^✓ ${metric}`, 'm'));
});

it('When the gateway refuses most orders, then npm run load names the crossed thresholds and exits 99, as k6 does', async () => {
  const run = await load(limited);
  assert.equal(run.code, 99);
  assert.match(run.stdout, /^✗ checks rate>=0\.99/m);
  assert.match(run.stdout, /^✗ http_req_failed rate<=0\.01/m);
  assert.match(run.stderr, /thresholds crossed: checks rate>=0\.99, http_req_failed rate<=0\.01/);
});

it('When the client could not keep up with the arrival rate, then dropped iterations fail the run', () => {
  const summary = {
    byStatus: { 202: 100 },
    skipped: 3,
    expectedLatency: { count: 100, p50: 5, p95: 9, p99: 12, max: 20 },
  } as unknown as LoadSummary;
  const results = judge(summary, DEFAULT_THRESHOLDS);
  assert.deepEqual(
    results.filter((r) => !r.ok).map((r) => r.metric),
    ['dropped_iterations'],
  );
});
