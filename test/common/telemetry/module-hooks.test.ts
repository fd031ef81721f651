import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import module from 'node:module';
import { after, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { trace } from '@opentelemetry/api';
import type { Producer } from 'kafkajs';
import { startTelemetry, stopPatchingModules, stopTelemetry } from '../../../common/telemetry/sdk.ts';

// Tracing started as a service starts it, before pino and kafkajs are loaded: everything that loads them is imported
// below, after startTelemetry. node:http is loaded first, so the receiver below is not traced itself.

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

const nodeRequire = module.prototype.require;
await startTelemetry('ituna-module-hooks-test');

let producer: Producer | undefined;
after(async () => {
  await producer?.disconnect();
  await stopTelemetry();
  receiver.close();
});

it("When a service has loaded its modules, then the require and import hooks are off, kafkajs decodes and encodes records with the project's decoder and encoder, log lines still carry the trace, and Kafka sends are still traced", async () => {
  assert.notEqual(module.prototype.require, nodeRequire, 'the instrumentations hook require() while modules load');
  // The import hook resolves an instrumented module to a wrapper of it.
  assert.match(import.meta.resolve('pino'), /iitm/, 'the import hook is on while modules load');
  const { createKafka, createProducer, ensureTopics } = await import('../../../common/kafka/client.ts');
  const { createPublisher } = await import('../../../common/kafka/publish.ts');
  const { createLogger } = await import('../../../common/logger.ts');
  const { testBrokers } = await import('../../support/broker.ts');
  // kafkajs, loaded through the require hook, gets the project's record decoder and encoder
  // (common/kafka/record-decoding.ts, record-encoding.ts).
  const { decodeRecord } = await import('../../../common/kafka/record-decoding.ts');
  const { encodeRecord } = await import('../../../common/kafka/record-encoding.ts');
  const hookedRequire = module.createRequire(import.meta.url);
  assert.equal(hookedRequire('kafkajs/src/protocol/recordBatch/record/v0/decoder.js'), decodeRecord);
  assert.equal(hookedRequire('kafkajs/src/protocol/recordBatch/record/v0'), encodeRecord);

  stopPatchingModules();
  assert.equal(module.prototype.require, nodeRequire, "Node's own require() is back");
  assert.doesNotMatch(import.meta.resolve('pino'), /iitm/, 'the import hook is off');

  // pino was patched as it loaded: a line logged inside a span names it.
  const lines: string[] = [];
  const log = createLogger('module-hooks-test', 'info', { write: (line: string) => void lines.push(line) });
  const topic = 'module-hooks.test';
  const kafka = createKafka('module-hooks-test', [await testBrokers()], createLogger('module-hooks-test', 'warn'));
  await ensureTopics(kafka, [{ name: topic, partitions: 1 }]);
  producer = createProducer(kafka);
  await producer.connect();
  const send = createPublisher(producer, 'single');
  const traceId = await trace.getTracer('test').startActiveSpan('order', async (span) => {
    log.info('sending');
    await send([{ topic, message: { value: 'one' } }]);
    span.end();
    return span.spanContext().traceId;
  });
  assert.equal(JSON.parse(lines[0]!).trace_id, traceId, 'the log line carries the active trace');

  for (let waited = 0; !received.includes(`send ${topic}`) && waited < 10_000; waited += 50) await sleep(50);
  assert.ok(received.includes(`send ${topic}`), `a producer span was exported (got: ${received.join(', ')})`);
});
