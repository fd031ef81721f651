import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { it } from 'node:test';
import { promisify } from 'node:util';
import { NODE_FLAGS } from '../../../tools/start/spawn-service.ts';

// A newcomer's first commands print what they mean, and no warning they cannot act on.
const root = new URL('../../../', import.meta.url).pathname;
const run = promisify(execFile);

it('When any npm script runs Node, then it runs with the warning flags every service has', async () => {
  const { stdout } = await run('npm', ['run', 'env'], { cwd: root });
  const nodeOptions = /^NODE_OPTIONS=(.*)$/m.exec(stdout)?.[1] ?? '';
  for (const flag of NODE_FLAGS.filter((f) => f.startsWith('--disable-warning')))
    assert.ok(nodeOptions.split(' ').includes(flag), `NODE_OPTIONS for npm scripts lacks ${flag}: "${nodeOptions}"`);
});

it('When npm run bottlenecks cannot reach the trace backend, then it says so in one line, with no stack trace or Node warning', async () => {
  const failure = await run('npm', ['run', '--silent', 'bottlenecks', '--', '--since', '1m'], {
    cwd: root,
    env: { ...process.env, JAEGER_QUERY_URL: 'http://127.0.0.1:1', KAFKA_BROKERS: '127.0.0.1:1' },
    timeout: 30_000,
  }).then(
    () => assert.fail('the report ran without a trace backend'),
    (error: { code?: number; stdout: string; stderr: string }) => error,
  );
  assert.equal(failure.code, 1);
  const lines = failure.stderr.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, failure.stderr);
  assert.match(lines[0]!, /^Cannot read traces at JAEGER_QUERY_URL \(no answer from http:\/\/127\.0\.0\.1:1/);
  assert.doesNotMatch(failure.stderr, /\(node:\d+\)|Warning|at .*\.ts:\d+/);
});
