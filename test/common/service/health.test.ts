import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnService } from '../../../tools/start/spawn-service.ts';
import type { ServiceProcess, ServiceName } from '../../../tools/start/spawn-service.ts';
import { testBrokers } from '../../support/broker.ts';

// The workers' probes, as an orchestrator asks them: alive from the start, ready once the worker consumes.
const services: ServiceProcess[] = [];
after(() => Promise.all(services.map((s) => s.stop())));

async function probesOf(name: ServiceName, brokers: string) {
  const service = spawnService(name, { KAFKA_BROKERS: brokers, OTEL_SDK_DISABLED: 'true', ITUNA_HEALTH_PORT: '0' });
  services.push(service);
  const line = await service.lineMatching((l) => l.includes('probes listening'), 20_000);
  assert.ok(line, `no probes line:\n${service.lines.join('\n')}`);
  const { url } = JSON.parse(line) as { url: string };
  const status = async (path: string) => (await fetch(`${url}${path}`)).status;
  return { service, status };
}

for (const name of ['validation', 'kitchen'] as const) {
  it(`When the ${name} worker runs with ITUNA_HEALTH_PORT, then /healthz answers at once and /readyz once it consumes`, async () => {
    const { service, status } = await probesOf(name, await testBrokers());
    assert.equal(await status('/healthz'), 200);
    await service.ready;
    const deadline = Date.now() + 10_000;
    while ((await status('/readyz')) !== 200 && Date.now() < deadline) await sleep(100);
    assert.equal(await status('/readyz'), 200);
    assert.equal(await status('/nothing'), 404);
  });
}

it('When Kafka cannot be reached, then a worker is alive but not ready', async () => {
  const { status } = await probesOf('kitchen', '127.0.0.1:1');
  assert.equal(await status('/healthz'), 200);
  assert.equal(await status('/readyz'), 503);
});
