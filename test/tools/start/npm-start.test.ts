import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { after, before, it } from 'node:test';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { canConnect } from '../../../common/kafka/reachable.ts';
import { testBrokers } from '../../support/broker.ts';
import { startTraceReceiver } from '../../support/trace-receiver.ts';
import type { TraceReceiver } from '../../support/trace-receiver.ts';

// `npm start` as a user runs it (its main module, in a process group of its own, as a terminal or a supervisor
// would), on the test's broker and trace receiver and a free gateway port, so no fixed port is needed.
const root = new URL('../../..', import.meta.url).pathname;
let env: Record<string, string>;
let receiver: TraceReceiver;
const started: ChildProcess[] = [];

function npmStart(extra: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['tools/start/main.ts'], {
    cwd: root,
    env: { ...process.env, ...env, ...extra },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  started.push(child);
  const lines: string[] = [];
  for (const stream of [child.stdout!, child.stderr!])
    createInterface({ input: stream }).on('line', (line) => lines.push(line));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const said = async (pattern: RegExp, timeoutMs = 90_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = lines.find((l) => pattern.test(l));
      if (line) return line;
      if (child.exitCode !== null || Date.now() > deadline)
        assert.fail(`npm start did not say ${pattern}:\n${lines.slice(-20).join('\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  return { child, lines, exited, said };
}

before(async () => {
  receiver = await startTraceReceiver();
  env = {
    KAFKA_BROKERS: await testBrokers(),
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    PORT: '0',
    LOG_FORMAT: 'json',
    OTEL_BSP_SCHEDULE_DELAY: '200',
  };
});
after(async () => {
  // A test that failed may leave npm start running: SIGTERM lets it stop its services (in process groups of their own),
  // which SIGKILL would leave behind.
  const running = started.filter((child) => child.exitCode === null && child.signalCode === null);
  for (const child of running) process.kill(-child.pid!, 'SIGTERM');
  await Promise.race([Promise.all(running.map((child) => once(child, 'exit'))), sleep(20_000)]);
  for (const child of running)
    if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
  await receiver?.close();
});

it('When npm start runs with LOG_LEVEL=warn and a second one starts, then the first is ready and quiet, the second says so and exits 1; SIGTERM then stops the first only after every service exited', {
  timeout: 180_000,
}, async () => {
  // The services' info lines are not printed, but npm start still learns when each is running.
  const first = npmStart({ LOG_LEVEL: 'warn' });
  const ready = await first.said(/\[ituna\] ready: gateway (http:\/\/[\d.:]+)/);
  assert.ok(!first.lines.some((l) => l.includes('"level":30')), 'an info line was printed');
  const gatewayUrl = /gateway (http:\/\/[\d.:]+)/.exec(ready)![1]!;
  const { port } = new URL(gatewayUrl);

  const second = npmStart();
  assert.equal(await second.exited, 1);
  assert.ok(
    second.lines.some((l) => l.includes(`another npm start (pid ${first.child.pid}) is running`)),
    second.lines.join('\n'),
  );
  assert.equal((await fetch(`${gatewayUrl}/readyz`)).status, 200, 'the first one still serves');

  // What a supervisor or `timeout` does: SIGTERM to the whole process group.
  process.kill(-first.child.pid!, 'SIGTERM');
  assert.equal(await first.exited, 0);
  assert.equal(
    await canConnect('127.0.0.1', Number(port)),
    false,
    'the gateway still listens after npm start returned',
  );
  assert.ok(first.lines.some((l) => l.includes('stopping…')));
});

it('When the gateway port is taken by another process, then npm start refuses, naming the port and the process, and starts nothing', {
  timeout: 60_000,
}, async () => {
  const squatter = createServer().listen(0, '127.0.0.1');
  await once(squatter, 'listening');
  const { port } = squatter.address() as { port: number };
  try {
    const start = npmStart({ PORT: String(port) });
    assert.equal(await start.exited, 1);
    const refusal = start.lines.find((l) => l.includes(`port ${port} (the gateway) is taken by`));
    assert.ok(refusal, start.lines.join('\n'));
    assert.match(refusal, new RegExp(`pid ${process.pid}|node`), 'the refusal names the process holding the port');
    assert.ok(!start.lines.some((l) => /worker consuming|Server listening/.test(l)), 'nothing was started');
  } finally {
    squatter.close();
  }
});
