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

// `npm run bench -- --quick` end to end: it starts its own broker, receivers and services, prints the whole table and
// leaves nothing running. What the figures are is for BENCHMARKS.md, not for a test: only their presence is checked.
test('When the benchmark runs briefly, then it prints every figure beside its limit and its spread, and says what it is doing', async () => {
  const run = randomUUID();
  const marker = `ITUNA_BENCH_SMOKE=${run}`;
  const bench = spawn(process.execPath, ['--disable-warning=TimeoutNegativeWarning', 'tools/bench/run.ts', '--quick'], {
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

  const rows = stdout
    .split('\n')
    .filter((line) => line.startsWith('| ') && !line.startsWith('| figure') && !line.startsWith('| ---'));
  const cells = rows.map((line) => line.split(' | ').map((cell) => cell.replace(/^\| |\s\|$/g, '').trim()));
  const of = (prefix: string) => {
    const found = cells.filter((c) => c[0]!.startsWith(prefix));
    assert.equal(found.length, 1, `no single "${prefix}" row in:\n${stdout}`);
    return found[0]!;
  };
  const withSpread = /\d+(\.\d+)? \(\d+(\.\d+)?–\d+(\.\d+)?, \d+ rounds?\)/;
  for (const encoding of ['OTLP JSON', 'OTLP protobuf']) {
    const cpu = of(`gateway CPU per order at 300/s, traced, ${encoding}`);
    assert.match(cpu[1]!, new RegExp(`^${withSpread.source} µs, ${withSpread.source} spans per order$`));
    assert.match(cpu[2]!, /^untraced .* µs; bare route [1-9]\d* req\/s, \d+ CPU-µs per request$/);
    assert.match(cpu[3]!, /^traced [+-]\d+ % \([+-]\d+ % to [+-]\d+ %\)/);
    assert.match(
      of(`gateway peak intake, 50 connections, traced, ${encoding}`)[1]!,
      new RegExp(`^${withSpread.source} req/s$`),
    );
  }
  assert.match(
    of('gateway answer with an Idempotency-Key at 300/s')[1]!,
    /^p50 [\d.]+ ms \([\d.]+–[\d.]+, \d+ rounds?\), p99 [\d.]+ ms \([\d.]+–[\d.]+, \d+ rounds?\)$/,
  );
  assert.match(of('receiver CPU per span')[1]!, /^counting sink .* µs; trace store: .*application\/json [\d.]+ µs/);
  const sdk = of('OpenTelemetry SDK alone, CPU per span');
  assert.match(
    sdk[1]!,
    new RegExp(
      `^made and ended ${withSpread.source} µs; exported, OTLP protobuf ${withSpread.source} µs, OTLP JSON ${withSpread.source} µs$`,
    ),
  );
  assert.match(sdk[3]!, /^made and exported \(protobuf\) [\d.]+× \(/);
  assert.match(of("services' CPU per order at 50/s")[1]!, /validation [\d.]+, kitchen [\d.]+, gateway [\d.]+\)$/);
  assert.match(of('whole pipeline CPU per order at 50/s')[1]!, /\(broker [\d.]+\)$/);
  assert.match(
    of('idle CPU per process, no orders')[1]!,
    /^validation \d+\.\d\d %, kitchen \d+\.\d\d %, gateway \d+\.\d\d %, broker \d+\.\d\d %$/,
  );
  assert.match(
    of('peak RSS per process after the pipeline runs')[1]!,
    /^validation [1-9]\d* MB, kitchen [1-9]\d* MB, gateway [1-9]\d* MB$/,
  );
  assert.match(of('pipeline, HTTP call → ready')[1]!, /^[1-9]\d* orders\/s sustained/);
  assert.match(
    of('pipeline CPU per order along the ladder')[1]!,
    /^50\/s [\d.]+ ms \(broker [\d.]+\)(, \d+\/s [\d.]+ ms \(broker [\d.]+\))+$/,
  );
  assert.match(
    of('pipeline CPU per order along the ladder')[3]!,
    /^marginal (-?[\d.]+ CPU-ms per order \(slope over \d+ rates\)|not measured)/,
  );
  assert.match(
    of('pipeline CPU per order along the ladder')[2]!,
    /untraced, on a broker of its own: 50\/s [\d.]+ ms \(broker [\d.]+\)(, \d+\/s [\d.]+ ms \(broker [\d.]+\))*, marginal/,
  );
  // Tracing's share at every rate of the ladder, traced against untraced.
  const perRate = of("services' CPU per order along the ladder");
  assert.match(perRate[1]!, /^50\/s [\d.]+ ms(, \d+\/s [\d.]+ ms)*$/);
  assert.match(perRate[2]!, /^untraced, .*: 50\/s [\d.]+ ms(, \d+\/s [\d.]+ ms)*$/);
  assert.match(perRate[3]!, /^traced [+-]\d+ % at 50\/s(, [+-]\d+ % at \d+\/s)*; target ≤ \+15 % at every rate$/);
  assert.match(of('pipeline, HTTP call → ready')[2]!, /ProducerPerformance [1-9]\d* records\/s/);
  assert.match(of('end-to-end latency')[2]!, /EndToEndLatency × 3 hops: p50 \d+ ms, p99 \d+ ms/);
  // The pipeline's latency over the rounds, each round's figure printed as it goes.
  assert.match(of('end-to-end latency')[1]!, /^p50 \d+ ms \(\d+–\d+, 1 rounds\), p99 \d+ ms \(\d+–\d+, 1 rounds\)/);
  assert.match(of('end-to-end latency')[3]!, /^p99 [\d.]+× \([\d.]+–[\d.]+, 1 rounds\) the broker's \(target ≤ 2×\)$/);
  assert.match(stderr, /end-to-end latency at \d+\/s, round 1: p50 \d+ ms, p99 \d+ ms/);
  assert.match(
    stderr,
    /\[bench +\d+ s\] gateway untraced at 300\/s, round 1/,
    'the bench says what it is doing as it goes',
  );
  for (const encoding of ['OTLP protobuf', 'OTLP JSON']) {
    const found = cells.filter((c) => c[0]!.startsWith(`trace store ingest, ${encoding},`));
    assert.equal(found.length, 1, `no "trace store ingest, ${encoding}" row in:\n${stdout}`);
    assert.match(
      found[0]![1]!,
      /^[1-9][\d ]* \([\d ]+–[\d ]+\) spans\/s; [1-9][\d ]* \([\d ]+–[\d ]+\) spans per CPU-second of the store$/,
    );
  }
  assert.doesNotMatch(stderr, /warning:/, 'the bench warned about its own measurement');
});
