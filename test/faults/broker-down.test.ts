import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startLocalBroker } from '../../tools/local-kafka/cluster.ts';
import type { LocalBroker } from '../../tools/local-kafka/cluster.ts';
import { spawnService } from '../../tools/start/spawn-service.ts';
import type { ServiceProcess } from '../../tools/start/spawn-service.ts';
import { onlineOrder } from '../support/fixtures.ts';

// A broker of its own: this test stops and restarts it under a running gateway.
const order = onlineOrder;
let broker: LocalBroker | undefined;
let gateway: ServiceProcess | undefined;
let dataDir: string;

after(async () => {
  await gateway?.stop();
  await broker?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

async function post(url: string) {
  const started = performance.now();
  const response = await fetch(`${url}/orders/online`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(order),
    signal: AbortSignal.timeout(10_000),
  });
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    body: (await response.json()) as { error?: { code: string } },
    ms: performance.now() - started,
  };
}

/** Polls `check` every 50 ms until it holds; resolves with the milliseconds it took. */
async function timeUntil(check: () => Promise<boolean>, limitMs: number, what: string): Promise<number> {
  const started = performance.now();
  while (!(await check())) {
    if (performance.now() - started > limitMs) assert.fail(`${what} did not happen within ${limitMs} ms`);
    await sleep(50);
  }
  return performance.now() - started;
}

it('When the broker goes down, then orders get 503 with Retry-After within 1 s, and all recovers when it returns', {
  timeout: 180_000,
}, async (t) => {
  dataDir = await mkdtemp(join(tmpdir(), 'ituna-broker-down-'));
  broker = await startLocalBroker({ dataDir });
  const port = broker.port;
  gateway = spawnService('gateway', { KAFKA_BROKERS: broker.brokers, PORT: '0', OTEL_SDK_DISABLED: 'true' });
  const url = (await gateway.ready)!;
  assert.equal((await post(url)).status, 202);

  await broker.stop();
  const toNotReady = await timeUntil(
    async () => (await fetch(`${url}/readyz`)).status === 503,
    5000,
    '/readyz turning 503',
  );
  const refusals = [];
  for (let i = 0; i < 5; i++) refusals.push(await post(url));
  for (const refusal of refusals) {
    assert.equal(refusal.status, 503);
    assert.equal(refusal.retryAfter, '1');
    assert.equal(refusal.body.error?.code, 'kafka_unavailable');
    assert.ok(refusal.ms < 1000, `a refusal took ${refusal.ms.toFixed(0)} ms`);
  }

  const restarted = performance.now();
  broker = await startLocalBroker({ dataDir, port });
  const brokerStartMs = performance.now() - restarted;
  const toRecovered = await timeUntil(async () => (await post(url)).status === 202, 60_000, 'an order accepted again');
  assert.equal((await fetch(`${url}/readyz`)).status, 200);
  t.diagnostic(
    `/readyz 503 after ${toNotReady.toFixed(0)} ms; refusals took ${refusals.map((r) => r.ms.toFixed(0)).join(', ')} ms; ` +
      `broker restart ${brokerStartMs.toFixed(0)} ms, then orders accepted again after ${toRecovered.toFixed(0)} ms`,
  );
});
