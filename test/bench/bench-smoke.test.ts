import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { readFile, readdir } from 'node:fs/promises';
import { test } from 'node:test';

/** Processes still running with `marker` in their environment (every child of the bench inherits it). */
async function processesMarked(marker: string): Promise<string[]> {
  const found: string[] = [];
  for (const pid of (await readdir('/proc')).filter((name) => /^\d+$/.test(name))) {
    const environ = await readFile(`/proc/${pid}/environ`, 'latin1').catch(() => '');
    if (environ.split('\0').includes(marker)) found.push(pid);
  }
  return found;
}

// `npm run bench -- --quick` end to end: it starts its own brokers and services, prints the whole table and
// leaves nothing running. What the figures are is for BENCHMARKS.md, not for a test: only their presence is checked.
test('When the benchmark runs briefly, then it prints every figure beside its limit, for both ways of sending', async () => {
  const run = randomUUID();
  const marker = `ITUNA_BENCH_SMOKE=${run}`;
  const bench = spawn(process.execPath, ['--disable-warning=TimeoutNegativeWarning', 'bench/run.ts', '--quick'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ITUNA_BENCH_SMOKE: run },
  });
  let stdout = '';
  let stderr = '';
  bench.stdout.on('data', (chunk) => (stdout += chunk));
  bench.stderr.on('data', (chunk) => (stderr += chunk));
  const killer = setTimeout(() => bench.kill('SIGKILL'), 8 * 60_000);
  const [code] = await once(bench, 'exit');
  clearTimeout(killer);
  assert.equal(code, 0, `bench exited ${code}:\n${stderr.slice(-3000)}`);
  assert.deepEqual(await processesMarked(marker), [], 'the bench left processes running');

  const rows = stdout.split('\n').filter((line) => line.startsWith('| ') && !line.startsWith('| figure') && !line.startsWith('| ---'));
  const cells = rows.map((line) => line.split(' | ').map((cell) => cell.replace(/^\| |\s\|$/g, '').trim()));
  const figure = (prefix: string) => cells.filter((c) => c[0]!.startsWith(prefix));
  for (const how of ['group commit', 'one awaited send per request']) {
    const of = (prefix: string) => {
      const found = figure(prefix).filter((c) => c[0]!.includes(`(${how})`));
      assert.equal(found.length, 1, `no "${prefix} … (${how})" row in:\n${stdout}`);
      return found[0]!;
    };
    assert.match(of('gateway intake, traced')[1]!, /^[1-9]\d* req\/s, p50 \d+ ms, p99 \d+ ms$/);
    assert.match(of('gateway intake, traced')[3]!, /× the HTTP limit$/);
    assert.match(of('tracing overhead')[1]!, /spans per order received, none dropped$/);
    assert.match(of('tracing overhead')[3]!, /% fewer req\/s with tracing$/);
    assert.match(of('pipeline, HTTP call → ready')[1]!, /^[1-9]\d* orders\/s sustained/);
    assert.match(of('pipeline, HTTP call → ready')[2]!, /ProducerPerformance [1-9]\d* records\/s/);
    assert.match(of('end-to-end latency')[2]!, /EndToEndLatency × 3 hops: p50 \d+ ms, p99 \d+ ms/);
    assert.match(of('peak RSS per process')[1]!, /^(validation|kitchen|gateway) [1-9]\d* MB, .* MB, .* MB$/);
    assert.match(of('CPU per order')[1]!, /broker \d+\.\d\d ms/);
  }
  assert.equal(figure('group commit against one awaited send').length, 1, stdout);
  for (const encoding of ['OTLP protobuf', 'OTLP JSON']) {
    const found = figure(`trace store ingest, ${encoding},`);
    assert.equal(found.length, 1, `no "trace store ingest, ${encoding}" row in:\n${stdout}`);
    assert.match(found[0]![1]!, /^[1-9][\d ]* \([\d ]+–[\d ]+\) spans\/s; [1-9][\d ]* \([\d ]+–[\d ]+\) spans per CPU-second of the store$/);
  }
  assert.doesNotMatch(stderr, /warning:/, 'the bench warned about its own measurement');
});
