import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SpanKind, context, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import type { FlatSpan } from '../../../tools/traces/otlp.ts';
import { createTraceQueryClient } from '../../../tools/traces/query-client.ts';
import { openTraceStore } from '../../../tools/tracestore/store.ts';
import { startTraceStoreServer } from '../../../tools/tracestore/server.ts';
import type { TraceStoreServer } from '../../../tools/tracestore/server.ts';

let dir: string;
let server: TraceStoreServer;

/** Sends one real two-span trace through the SDK's own OTLP/HTTP exporter; resolves with its trace id. */
async function exportTrace(otlpUrl: string, service: string): Promise<string> {
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': service }),
    spanProcessors: [new SimpleSpanProcessor({ exporter: new OTLPTraceExporter({ url: `${otlpUrl}/v1/traces` }) })],
  });
  const tracer = provider.getTracer('test');
  const parent = tracer.startSpan('POST /orders/online', {
    kind: SpanKind.SERVER,
    attributes: { 'ituna.order.id': 'o-1', 'http.response.status_code': 202 },
  });
  const child = tracer.startSpan(
    'send orders.placed',
    { kind: SpanKind.PRODUCER },
    trace.setSpan(context.active(), parent),
  );
  child.end();
  parent.end();
  await provider.forceFlush();
  await provider.shutdown();
  return parent.spanContext().traceId;
}

describe('the embedded trace store and the api/v3 query client', () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ituna-traces-'));
    server = await startTraceStoreServer(await openTraceStore({ file: join(dir, 'spans.jsonl') }), {
      otlpPort: 0,
      queryPort: 0,
    });
  });
  after(async () => {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('When the SDK exports a trace, then the client reads it back by id with kinds, parents and attributes', async () => {
    const traceId = await exportTrace(server.otlpUrl, 'ituna-gateway');
    const spans = await createTraceQueryClient(server.queryUrl).trace(traceId);
    assert.equal(spans.length, 2);
    const root = spans.find((s) => s.kind === 'server')!;
    const child = spans.find((s) => s.kind === 'producer')!;
    assert.equal(child.parentSpanId, root.spanId);
    assert.equal(root.service, 'ituna-gateway');
    assert.equal(root.attributes['ituna.order.id'], 'o-1');
    assert.equal(root.attributes['http.response.status_code'], 202);
  });

  it('When traces are searched by service and time, then only matching ones come back, newest first', async () => {
    const since = new Date(Date.now() - 1000);
    const first = await exportTrace(server.otlpUrl, 'ituna-kitchen');
    const second = await exportTrace(server.otlpUrl, 'ituna-kitchen');
    const client = createTraceQueryClient(server.queryUrl);
    const traces = await client.findTraces({ service: 'ituna-kitchen', since });
    assert.deepEqual(
      traces.map((spans: FlatSpan[]) => spans[0]!.traceId),
      [second, first],
    );
    assert.deepEqual(await client.findTraces({ service: 'ituna-kitchen', since: new Date(Date.now() + 60_000) }), []);
    assert.deepEqual(await client.services(), ['ituna-gateway', 'ituna-kitchen']);
    assert.deepEqual(await client.trace('0'.repeat(32)), []);
  });

  it('When the store restarts, then it still has what it was sent', async () => {
    const traceId = await exportTrace(server.otlpUrl, 'ituna-order-validation');
    await server.close();
    server = await startTraceStoreServer(await openTraceStore({ file: join(dir, 'spans.jsonl') }), {
      otlpPort: 0,
      queryPort: 0,
    });
    assert.equal((await createTraceQueryClient(server.queryUrl).trace(traceId)).length, 2);
  });

  it('When more spans arrive than the budget, then the oldest traces are dropped first', async () => {
    const store = await openTraceStore({ maxSpans: 4 });
    const span = (traceId: string, spanId: string): FlatSpan => ({
      traceId,
      spanId,
      name: 's',
      kind: 'internal',
      service: 'x',
      startMs: 0,
      endMs: 1,
      durationMs: 1,
      attributes: {},
      status: { code: 'unset' },
      events: [],
      links: [],
    });
    store.add([span('a', '1'), span('a', '2')]);
    store.add([span('b', '1'), span('b', '2')]);
    store.add([span('c', '1')]);
    assert.equal(store.spanCount, 3);
    assert.equal(store.received, 5, 'what it took, evicted spans included');
    assert.deepEqual(store.trace('a'), []);
    assert.equal(store.trace('c').length, 1);
  });

  it('When something other than OTLP is posted, then it answers 415 or 400 and keeps running', async () => {
    const post = (type: string, body: string) =>
      fetch(`${server.otlpUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': type }, body });
    assert.equal((await post('text/plain', 'x')).status, 415);
    assert.equal((await post('application/x-protobuf', 'x')).status, 400);
    assert.equal((await post('application/json', '{"nope":1}')).status, 400);
    assert.equal((await fetch(`${server.queryUrl}/api/v3/services`)).status, 200);
  });
});
