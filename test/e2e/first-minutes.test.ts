import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { startLocalBroker } from '../../tools/local-kafka/cluster.ts';
import type { LocalBroker } from '../../tools/local-kafka/cluster.ts';
import { spawnService } from '../../tools/start/spawn-service.ts';
import type { ServiceProcess } from '../../tools/start/spawn-service.ts';
import { onlineOrder } from '../support/fixtures.ts';
import { startPipeline, waitUntilSettled } from '../support/pipeline.ts';
import { startTraceReceiver } from '../support/trace-receiver.ts';

// The first minutes of a pipeline, each on a broker of its own: a first start on a fresh broker, and a start while
// the broker is away.
const brokers: LocalBroker[] = [];
const services: ServiceProcess[] = [];
const dirs: string[] = [];
after(async () => {
  await Promise.all(services.map((s) => s.stop()));
  await Promise.all(brokers.map((b) => b.stop()));
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** The lines at pino level warn (40) or above, and lines that are not JSON at all (Node's own warnings, crashes). */
function complaints(lines: string[]): string[] {
  return lines.filter((line) => {
    try {
      return (JSON.parse(line) as { level: number }).level >= 40;
    } catch {
      return true;
    }
  });
}

async function placeOrder(gatewayUrl: string): Promise<string> {
  const response = await fetch(`${gatewayUrl}/orders/online`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(onlineOrder),
  });
  assert.equal(response.status, 202);
  return ((await response.json()) as { orderId: string }).orderId;
}

it('When the pipeline starts on a fresh broker, cooks an order and stops, then no process logs anything at warn or above', {
  timeout: 180_000,
}, async () => {
  const broker = await startLocalBroker();
  brokers.push(broker);
  const receiver = await startTraceReceiver();
  try {
    const pipeline = await startPipeline(broker.brokers, receiver.url, { ITUNA_DELAYS: 'cook=5' });
    services.push(...pipeline.services);
    await waitUntilSettled(pipeline.gatewayUrl, [await placeOrder(pipeline.gatewayUrl)]);
    assert.deepEqual(await pipeline.stop(), [0, 0, 0]);
    for (const service of pipeline.services)
      assert.deepEqual(complaints(service.lines), [], `${service.name} complained`);
  } finally {
    await receiver.close();
  }
});

it('When the services start while the broker restarts, then none dies, each says so once, and all are ready once it is back', {
  timeout: 240_000,
}, async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'ituna-first-minutes-'));
  dirs.push(dataDir);
  const first = await startLocalBroker({ dataDir });
  const port = first.port;
  await first.stop();

  const env = {
    KAFKA_BROKERS: first.brokers,
    PORT: '0',
    OTEL_SDK_DISABLED: 'true',
    LOG_LEVEL: 'info',
    ITUNA_DELAYS: 'cook=5',
  };
  const started = (['validation', 'kitchen', 'gateway'] as const).map((name) => spawnService(name, env));
  services.push(...started);
  // Every service finds Kafka away and says so once its start-up grace (5 s) is over.
  const saidSo = await Promise.all(
    started.map((s) => s.lineMatching((line) => line.includes('Kafka does not answer'), 30_000)),
  );
  assert.ok(saidSo.every(Boolean), 'a service did not say that Kafka does not answer');
  for (const service of started)
    assert.equal(
      service.child.exitCode,
      null,
      `${service.name} exited while the broker was away:\n${service.lines.join('\n')}`,
    );
  const broker = await startLocalBroker({ dataDir, port });
  brokers.push(broker);

  const [, , gatewayUrl] = await Promise.all(started.map((s) => s.ready));
  await waitUntilSettled(gatewayUrl!, [await placeOrder(gatewayUrl!)]);
  for (const service of started) {
    const warnings = complaints(service.lines);
    assert.ok(
      warnings.length <= 1,
      `${service.name} said more than one line about the outage:\n${warnings.join('\n')}`,
    );
    assert.ok(
      warnings.every((line) => JSON.parse(line).level === 40),
      `${service.name} logged above warn:\n${warnings.join('\n')}`,
    );
  }
  assert.deepEqual(await Promise.all(started.map((s) => s.stop())), [0, 0, 0]);
});
