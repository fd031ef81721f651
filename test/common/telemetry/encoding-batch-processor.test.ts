import assert from 'node:assert/strict';
import { it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DiagLogLevel, context, diag } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { ExportResultCode, isTracingSuppressed } from '@opentelemetry/core';
import type { ExportResult } from '@opentelemetry/core';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AlwaysOffSampler, TracerProvider } from '@opentelemetry/sdk-trace';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { EncodingBatchProcessor } from '../../../common/telemetry/encoding-batch-processor.ts';
import type { BatchOptions } from '../../../common/telemetry/encoding-batch-processor.ts';
import type { EncodedSpans } from '../../../common/telemetry/otlp-protobuf.ts';
import { serializeEncoded } from '../../../common/telemetry/otlp-protobuf.ts';

// The batch processor that writes each span as it ends: what leaves, when, and what it does when exports fall behind.

// As in the services, so that the exporter's own requests can be seen to run with tracing suppressed.
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());

/** An exporter that keeps each request's bytes, answering at once or, with `hold`, only when told. */
function recordingExporter(hold = false) {
  const requests: Buffer[] = [];
  const waiting: Array<() => void> = [];
  let suppressed = true;
  let shutdowns = 0;
  return {
    requests,
    waiting,
    get suppressed() {
      return suppressed;
    },
    get shutdowns() {
      return shutdowns;
    },
    export(batch: EncodedSpans, done: (result: ExportResult) => void) {
      suppressed &&= isTracingSuppressed(context.active());
      requests.push(Buffer.from(serializeEncoded(batch)));
      const answer = () => done({ code: ExportResultCode.SUCCESS });
      if (hold) waiting.push(answer);
      else answer();
    },
    shutdown: async () => void shutdowns++,
  };
}

const OPTIONS: BatchOptions = {
  scheduledDelayMillis: 30,
  maxQueueSize: 100,
  maxExportBatchSize: 3,
  exportTimeoutMillis: 5_000,
};

function setUp(exporter: ReturnType<typeof recordingExporter>, options: Partial<BatchOptions> = {}, sampled = true) {
  const processor = new EncodingBatchProcessor(exporter, { ...OPTIONS, ...options });
  const ended: ReadableSpan[] = [];
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'ituna-test' }),
    ...(sampled ? {} : { sampler: new AlwaysOffSampler() }),
    spanProcessors: [
      { onStart() {}, onEnd: (s) => void ended.push(s), forceFlush: async () => {}, shutdown: async () => {} },
      processor,
    ],
  });
  const tracers = [provider.getTracer('ituna'), provider.getTracer('other', '1.0')];
  const endSpans = (count: number) => {
    for (let i = 0; i < count; i++)
      tracers[i % 2]!.startSpan(`span ${ended.length}`, {
        attributes: { 'ituna.order.id': crypto.randomUUID(), i },
      }).end();
  };
  const sdkBytes = (spans: ReadableSpan[]) => Buffer.from(ProtobufTraceSerializer.serializeRequest(spans)!);
  return { processor, ended, endSpans, sdkBytes };
}

it('When spans end, then a batch leaves at once when full and the rest after the delay, each request the bytes the OpenTelemetry serializer writes for its spans', async () => {
  const exporter = recordingExporter();
  const { ended, endSpans, sdkBytes } = setUp(exporter);
  endSpans(7);
  assert.equal(exporter.requests.length, 1, 'the first full batch at once');
  await sleep(0);
  assert.equal(exporter.requests.length, 2, 'the second as soon as the first was answered');
  assert.deepEqual(exporter.requests[0], sdkBytes(ended.slice(0, 3)));
  assert.deepEqual(exporter.requests[1], sdkBytes(ended.slice(3, 6)));
  await sleep(OPTIONS.scheduledDelayMillis + 50);
  assert.equal(exporter.requests.length, 3, 'the seventh after the delay');
  assert.deepEqual(exporter.requests[2], sdkBytes(ended.slice(6)));
  assert.ok(exporter.suppressed, "the exporter's own requests are not traced");
});

it('When an export is slow, then spans wait in the queue up to its size, those past it are dropped, and the drop is said in the SDK words the services count', async () => {
  const warnings: string[] = [];
  diag.setLogger(
    { error() {}, warn: (m) => void warnings.push(m), info() {}, debug() {}, verbose() {} },
    { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
  );
  try {
    const exporter = recordingExporter(true);
    const { ended, endSpans, sdkBytes } = setUp(exporter, { maxQueueSize: 6 });
    endSpans(3);
    assert.equal(exporter.requests.length, 1, 'one export at a time');
    endSpans(9);
    assert.equal(exporter.requests.length, 1);
    assert.deepEqual(warnings, [], 'said only once a span is taken again');
    exporter.waiting.shift()!();
    await sleep(10);
    assert.equal(exporter.requests.length, 2, 'the next batch leaves when the first is answered');
    endSpans(1);
    assert.deepEqual(warnings, ['Dropped 3 spans because maxQueueSize reached']);
    exporter.waiting.shift()!();
    await sleep(10);
    assert.deepEqual(exporter.requests[1], sdkBytes(ended.slice(3, 6)));
    assert.deepEqual(exporter.requests[2], sdkBytes(ended.slice(6, 9)));
    exporter.waiting.shift()!();
    await sleep(OPTIONS.scheduledDelayMillis + 50);
    assert.equal(exporter.requests.length, 4, 'the span taken after the drop leaves too');
    exporter.waiting.shift()!();
  } finally {
    diag.disable();
  }
});

it('When flushed, then every span ended has left; when shut down, then the exporter is shut down and later spans are not taken', async () => {
  const exporter = recordingExporter();
  const { processor, ended, endSpans, sdkBytes } = setUp(exporter, { scheduledDelayMillis: 60_000 });
  endSpans(4);
  await processor.forceFlush();
  assert.equal(exporter.requests.length, 2);
  assert.deepEqual(exporter.requests[1], sdkBytes(ended.slice(3)));
  endSpans(2);
  await processor.shutdown();
  assert.equal(exporter.requests.length, 3, 'shutting down flushes');
  assert.equal(exporter.shutdowns, 1);
  endSpans(5);
  await processor.forceFlush();
  assert.equal(exporter.requests.length, 3);
});

it('When an export never answers, then the next batch leaves after the export timeout', async () => {
  const exporter = recordingExporter(true);
  const { endSpans } = setUp(exporter, { exportTimeoutMillis: 40 });
  endSpans(6);
  assert.equal(exporter.requests.length, 1);
  await sleep(120);
  assert.equal(exporter.requests.length, 2);
});

it('When spans are not sampled, then nothing leaves', async () => {
  const exporter = recordingExporter();
  const { processor, endSpans } = setUp(exporter, {}, false);
  endSpans(5);
  await processor.forceFlush();
  assert.equal(exporter.requests.length, 0);
});
