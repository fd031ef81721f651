import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnService } from '../../../tools/start/spawn-service.ts';
import type { ServiceProcess } from '../../../tools/start/spawn-service.ts';
import { testBrokers } from '../../support/broker.ts';
import { onlineOrder } from '../../support/fixtures.ts';
import { startTraceReceiver } from '../../support/trace-receiver.ts';
import type { TraceReceiver } from '../../support/trace-receiver.ts';

// OTEL_TRACES_EXPORTER and OTEL_PROPAGATORS as the specification defines them, on real gateway processes.
let receiver: TraceReceiver;
const gateways: ServiceProcess[] = [];
before(async () => {
  receiver = await startTraceReceiver();
});
after(async () => {
  await Promise.all(gateways.map((g) => g.stop()));
  await receiver?.close();
});

async function gateway(env: Record<string, string>) {
  const service = spawnService('gateway', {
    KAFKA_BROKERS: await testBrokers(),
    PORT: '0',
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_BSP_SCHEDULE_DELAY: '50',
    ...env,
  });
  gateways.push(service);
  const url = (await service.ready)!;
  const answer = await fetch(`${url}/orders/online`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(onlineOrder),
  });
  assert.equal(answer.status, 202);
  return { service, traceId: ((await answer.json()) as { traceId: string }).traceId, answer };
}

it('When OTEL_TRACES_EXPORTER is console, then the spans are written to the console and nothing is sent over OTLP', async () => {
  const { service, traceId } = await gateway({ OTEL_TRACES_EXPORTER: 'console' });
  assert.ok(await service.lineMatching((l) => l.includes(traceId)), 'the trace id appears in the console output');
  assert.equal(receiver.trace(traceId).length, 0);
});

it('When OTEL_TRACES_EXPORTER is none, then nothing is exported, yet the trace context still reaches the caller', async () => {
  const { traceId, answer } = await gateway({ OTEL_TRACES_EXPORTER: 'none' });
  assert.match(answer.headers.get('traceresponse') ?? '', new RegExp(`^00-${traceId}-`));
  await sleep(300);
  assert.equal(receiver.trace(traceId).length, 0);
});

it("When OTEL_PROPAGATORS is none, then a caller's traceparent is not continued", async () => {
  const { service } = await gateway({ OTEL_PROPAGATORS: 'none' });
  const url = (await service.ready)!;
  const callerTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
  const answer = await fetch(`${url}/orders/online`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', traceparent: `00-${callerTrace}-00f067aa0ba902b7-01` },
    body: JSON.stringify(onlineOrder),
  });
  const { traceId } = (await answer.json()) as { traceId: string };
  assert.notEqual(traceId, callerTrace);
});
