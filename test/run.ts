import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { parseArgs } from 'node:util';
import { testTiers } from './support/tiers.ts';

// `npm test` and `npm run test:quick`: the quick tier (unit and in-process tests) in one process and — unless --quick,
// at the same time — the full tier's files, several at a time, each file that needs Kafka on a broker of its own.
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { quick: { type: 'boolean', default: false }, concurrency: { type: 'string' } },
});
const concurrency = Number(values.concurrency ?? process.env.ITUNA_TEST_CONCURRENCY ?? 2);
const tiers = testTiers();
const only = (files: string[]) =>
  positionals.length ? files.filter((f) => positionals.some((p) => f.includes(p))) : files;

// The last run's time per file (kept in the ignored .cache/): the longest files start first, so that no long file is
// left running alone at the end while the other slots are idle. A fresh clone (CI) starts from the times committed
// beside this runner.
const SEED_TIMINGS = 'test/support/test-timings.ndjson';
const TIMINGS = '.cache/test-timings.ndjson';
const THIS_RUN = '.cache/test-timings.last.ndjson';
const readTimings = (path: string, into = new Map<string, number>()) => {
  try {
    for (const line of readFileSync(path, 'utf8').split('\n').filter(Boolean)) {
      const { file, ms } = JSON.parse(line) as { file: string; ms: number };
      into.set(relative(process.cwd(), file), ms);
    }
  } catch {
    // None yet: the files keep their alphabetical order.
  }
  return into;
};
const lastTimes = readTimings(TIMINGS, readTimings(SEED_TIMINGS));
const longestFirst = (files: string[]) => [...files].sort((a, b) => (lastTimes.get(b) ?? 0) - (lastTimes.get(a) ?? 0));
mkdirSync('.cache', { recursive: true });

/** Runs `files` under node --test; with `buffered`, its report is printed in one piece when it ends. */
async function nodeTest(
  label: string,
  files: string[],
  flags: string[],
  { env = {}, buffered = false }: { env?: Record<string, string>; buffered?: boolean } = {},
) {
  if (files.length === 0) return 0;
  const started = performance.now();
  const child = spawn(process.execPath, ['--test', ...flags, ...files], {
    stdio: buffered ? ['ignore', 'pipe', 'pipe'] : 'inherit',
    env: { ...process.env, ...env },
  });
  const report: Buffer[] = [];
  child.stdout?.on('data', (chunk: Buffer) => report.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => report.push(chunk));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (buffered) process.stdout.write(Buffer.concat(report));
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.error(
    `[test] ${label}: ${files.length} files in ${seconds} s${code === 0 ? '' : ` — failed (exit ${code})`}`,
  );
  return code ?? 1;
}

const quickFlags = ['--test-isolation=none', '--import', './test/support/quick-guard.ts', '--test-timeout=60000'];
// Beside the full tier (while it starts its brokers), the quick tier's report is printed in one piece when it ends.
const quick = nodeTest('quick tier (one process)', only(tiers.quick), quickFlags, { buffered: !values.quick });
let full = Promise.resolve(0);
if (!values.quick) {
  full = nodeTest(
    `full tier (${concurrency} at a time)`,
    longestFirst(only(tiers.slow)),
    [
      '--test-global-setup=test/support/global-setup.ts',
      `--test-concurrency=${concurrency}`,
      '--test-timeout=300000',
      '--test-reporter=spec',
      '--test-reporter-destination=stdout',
      '--test-reporter=./test/support/timings-reporter.ts',
      `--test-reporter-destination=${THIS_RUN}`,
    ],
    // Test brokers live seconds to a minute: the JIT's first tier alone starts them on about 40 % less CPU.
    {
      env: { ITUNA_TEST_BROKERS: String(concurrency), KAFKA_OPTS: process.env.KAFKA_OPTS ?? '-XX:TieredStopAtLevel=1' },
    },
  ).then((code) => {
    const merged = readTimings(THIS_RUN, lastTimes);
    writeFileSync(TIMINGS, [...merged].map(([file, ms]) => `${JSON.stringify({ file, ms })}\n`).join(''));
    return code;
  });
}
const [quickCode, fullCode] = await Promise.all([quick, full]);
process.exitCode = quickCode || fullCode;
