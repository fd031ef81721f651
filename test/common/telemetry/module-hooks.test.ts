import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import module from 'node:module';
import { after, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { KafkaJsInstrumentation } from '@opentelemetry/instrumentation-kafkajs';
import type { Producer } from 'kafkajs';
import { startTelemetry, stopPatchingModules, stopTelemetry } from '../../../common/telemetry/sdk.ts';

// Tracing started as a service starts it, before kafkajs is loaded: everything that loads kafkajs is imported below,
// after startTelemetry. node:http is loaded first, so the receiver below is not traced itself.

// An OTLP/HTTP JSON receiver that keeps the names of the spans it is sent.
const received: string[] = [];
const receiver = createServer((request, response) => {
  let body = '';
  request.on('data', (chunk: Buffer) => (body += chunk));
  request.on('end', () => {
    const { resourceSpans = [] } = JSON.parse(body) as {
      resourceSpans?: Array<{ scopeSpans?: Array<{ spans?: Array<{ name: string }> }> }>;
    };
    for (const { scopeSpans = [] } of resourceSpans)
      for (const { spans = [] } of scopeSpans) received.push(...spans.map((s) => s.name));
    response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
});
receiver.listen(0, '127.0.0.1');
await once(receiver, 'listening');
Object.assign(process.env, {
  OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(receiver.address() as { port: number }).port}`,
  OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
  OTEL_BSP_SCHEDULE_DELAY: '50',
});

// Each Kafka request's duration the kafkajs instrumentation records as a metric (which nothing exports).
let durationsRecorded = 0;
const instrumentation = KafkaJsInstrumentation.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
const recordDuration = instrumentation._recordClientDurationMetric!;
instrumentation._recordClientDurationMetric = function (this: unknown, ...args: unknown[]) {
  durationsRecorded++;
  return recordDuration.apply(this, args);
};

const nodeRequire = module.prototype.require;
await startTelemetry('ituna-module-hooks-test');

let producer: Producer | undefined;
after(async () => {
  await producer?.disconnect();
  await stopTelemetry();
  receiver.close();
});

it("When a service has loaded its modules, then the require and import hooks are off, kafkajs decodes and encodes records with the project's decoder and encoder, its Kafka sends are still traced, and no request is timed for a metric", async () => {
  assert.notEqual(module.prototype.require, nodeRequire, 'the instrumentations hook require() while modules load');
  // The import hook resolves an instrumented module to a wrapper of it.
  assert.match(import.meta.resolve('kafkajs'), /iitm/, 'the import hook is on while modules load');
  const { createKafka, ensureTopics } = await import('../../../common/kafka/client.ts');
  const { createLogger } = await import('../../../common/logger.ts');
  const { testBrokers } = await import('../../support/broker.ts');
  // The instrumentation's require hook keeps the exports it first saw of each kafkajs file: kafkajs must still get
  // the project's record decoder and encoder through it (common/kafka/record-decoding.ts, record-encoding.ts).
  const { decodeRecord } = await import('../../../common/kafka/record-decoding.ts');
  const { encodeRecord } = await import('../../../common/kafka/record-encoding.ts');
  const hookedRequire = module.createRequire(import.meta.url);
  assert.equal(hookedRequire('kafkajs/src/protocol/recordBatch/record/v0/decoder.js'), decodeRecord);
  assert.equal(hookedRequire('kafkajs/src/protocol/recordBatch/record/v0'), encodeRecord);

  stopPatchingModules();
  assert.equal(module.prototype.require, nodeRequire, "Node's own require() is back");
  assert.doesNotMatch(import.meta.resolve('kafkajs'), /iitm/, 'the import hook is off');

  const topic = 'module-hooks.test';
  const kafka = createKafka('module-hooks-test', [await testBrokers()], createLogger('module-hooks-test', 'warn'));
  await ensureTopics(kafka, [{ name: topic, partitions: 1 }]);
  producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: [{ value: 'one' }] });

  for (let waited = 0; !received.includes(`send ${topic}`) && waited < 10_000; waited += 50) await sleep(50);
  assert.ok(received.includes(`send ${topic}`), `a producer span was exported (got: ${received.join(', ')})`);
  assert.equal(durationsRecorded, 0, 'no Kafka request was timed for the metric nobody exports');
});
