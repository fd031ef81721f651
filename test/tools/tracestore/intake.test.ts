import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { SpanKind, context, trace } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { TracerProvider } from '@opentelemetry/sdk-trace';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import protobuf from 'protobufjs';
import { makeTraceExports } from '../../../tools/bench/otlp-exports.ts';
import { flattenResourceSpans } from '../../../tools/traces/otlp.ts';
import { createTraceQueryClient } from '../../../tools/traces/query-client.ts';
import { MAX_EXPORT_BYTES } from '../../../tools/tracestore/intake.ts';
import { openTraceStore } from '../../../tools/tracestore/store.ts';
import type { TraceStore } from '../../../tools/tracestore/store.ts';
import { startTraceStoreServer } from '../../../tools/tracestore/server.ts';
import type { TraceStoreServer } from '../../../tools/tracestore/server.ts';

// google.rpc.Status, read with the same library but declared here, apart from the store's own copy.
const Status = new protobuf.Type('Status')
  .add(new protobuf.Field('code', 1, 'int32'))
  .add(new protobuf.Field('message', 2, 'string'));
new protobuf.Root().add(Status);

let dir: string;
let store: TraceStore;
let server: TraceStoreServer;

/** Ends a two-span trace in a provider of its own and returns the spans, for an exporter to send. */
function twoSpans(service: string): ReadableSpan[] {
  const ended: ReadableSpan[] = [];
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': service }),
    spanProcessors: [
      { onStart() {}, onEnd: (span) => void ended.push(span), forceFlush: async () => {}, shutdown: async () => {} },
    ],
  });
  const tracer = provider.getTracer('test');
  const parent = tracer.startSpan('POST /orders/online', {
    kind: SpanKind.SERVER,
    attributes: { 'ituna.order.id': 'o-1', 'http.response.status_code': 202, 'ituna.tags': ['a', 'b'] },
  });
  const child = tracer.startSpan(
    'send orders.placed',
    { kind: SpanKind.PRODUCER },
    trace.setSpan(context.active(), parent),
  );
  child.addEvent('sent', { 'messaging.kafka.offset': 7 });
  child.end();
  parent.end();
  return ended;
}

const post = (body: Buffer | string, headers: Record<string, string>) =>
  fetch(`${server.otlpUrl}/v1/traces`, { method: 'POST', headers, body });

/** What the store holds, to compare before and after an export it must refuse. */
const contents = () => ({ spans: store.spanCount, received: store.received });

describe('the trace store takes OTLP/HTTP in protobuf and JSON, gzipped or not', () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ituna-intake-'));
    store = await openTraceStore({ file: join(dir, 'spans.jsonl') });
    server = await startTraceStoreServer(store, { otlpPort: 0, queryPort: 0 });
  });
  after(async () => {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  for (const compression of ['none', 'gzip'] as const) {
    it(`When the SDK's http/protobuf exporter sends a trace (compression ${compression}), then it succeeds and the trace reads back whole`, async () => {
      const spans = twoSpans('ituna-kitchen');
      const exporter = new OTLPTraceExporter({
        url: `${server.otlpUrl}/v1/traces`,
        compression,
      } as ConstructorParameters<typeof OTLPTraceExporter>[0]);
      const result = await new Promise<{ code: number; error?: Error }>((resolve) => exporter.export(spans, resolve));
      await exporter.shutdown();
      assert.equal(result.code, ExportResultCode.SUCCESS, result.error?.message);
      const read = await createTraceQueryClient(server.queryUrl).trace(spans[0]!.spanContext().traceId);
      const root = read.find((s) => s.kind === 'server')!;
      const child = read.find((s) => s.kind === 'producer')!;
      assert.equal(read.length, 2);
      assert.equal(child.parentSpanId, root.spanId);
      assert.equal(root.service, 'ituna-kitchen');
      assert.deepEqual(root.attributes, {
        'ituna.order.id': 'o-1',
        'http.response.status_code': 202,
        'ituna.tags': ['a', 'b'],
      });
      assert.deepEqual(
        child.events.map((e) => [e.name, e.attributes]),
        [['sent', { 'messaging.kafka.offset': 7 }]],
      );
    });
  }

  it('When the same export comes as protobuf and as JSON, plain or gzipped, then the store keeps the same spans', async () => {
    const [sample] = makeTraceExports(1, 64);
    const expected = flattenResourceSpans(JSON.parse(sample!.json.toString()));
    const traceIds = [...new Set(expected.map((s) => s.traceId))];
    const bodies = [
      [sample!.protobuf, { 'content-type': 'application/x-protobuf' }],
      [gzipSync(sample!.protobuf), { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' }],
      [sample!.json, { 'content-type': 'application/json' }],
      [gzipSync(sample!.json), { 'content-type': 'application/json; charset=utf-8', 'content-encoding': 'gzip' }],
    ] as const;
    for (const [body, headers] of bodies) {
      const separate = await openTraceStore();
      const separateServer = await startTraceStoreServer(separate, { otlpPort: 0, queryPort: 0 });
      try {
        const response = await fetch(`${separateServer.otlpUrl}/v1/traces`, { method: 'POST', headers, body });
        assert.equal(response.status, 200, await response.clone().text());
        assert.equal(
          response.headers.get('content-type'),
          headers['content-type'].startsWith('application/json') ? 'application/json' : 'application/x-protobuf',
        );
        if (headers['content-type'] === 'application/x-protobuf') {
          assert.deepEqual(
            ProtobufTraceSerializer.deserializeResponse(new Uint8Array(await response.arrayBuffer())),
            {},
            'an ExportTraceServiceResponse with no partial success',
          );
        } else assert.deepEqual(await response.json(), {});
        assert.deepEqual(
          traceIds.flatMap((id) => separate.trace(id)),
          traceIds.flatMap((id) => expected.filter((s) => s.traceId === id)),
          JSON.stringify(headers),
        );
      } finally {
        await separateServer.close();
      }
    }
  });

  it("When an export is not OTLP, then it answers 400 with the reason in the request's encoding and keeps nothing of it", async () => {
    const [sample] = makeTraceExports(1, 58);
    const before = contents();
    const json = JSON.parse(sample!.json.toString());
    // Every span valid but the very last: the export is refused whole.
    json.resourceSpans[0].scopeSpans[0].spans.at(-1).traceId = 'not-hex';
    const refused = await post(JSON.stringify(json), { 'content-type': 'application/json' });
    assert.equal(refused.status, 400);
    const status = (await refused.json()) as { code: number; message: string };
    assert.equal(status.code, 3);
    assert.match(status.message, /traceId must match pattern/);

    const protobufRefused = await post(sample!.protobuf.subarray(0, sample!.protobuf.length - 10), {
      'content-type': 'application/x-protobuf',
    });
    assert.equal(protobufRefused.status, 400);
    assert.equal(protobufRefused.headers.get('content-type'), 'application/x-protobuf');
    const decoded = Status.decode(new Uint8Array(await protobufRefused.arrayBuffer())) as unknown as {
      code: number;
      message: string;
    };
    assert.equal(decoded.code, 3);
    assert.match(decoded.message, /^not an OTLP protobuf trace export/);

    for (const [body, type] of [
      ['{"resourceSpans":[null]}', 'application/json'],
      ['{', 'application/json'],
      ['', 'application/json'],
      ['x', 'application/x-protobuf'],
    ] as const) {
      assert.equal((await post(body, { 'content-type': type })).status, 400, `${type} ${body}`);
    }
    assert.equal(
      (await post(Buffer.from('not gzip'), { 'content-type': 'application/json', 'content-encoding': 'gzip' })).status,
      400,
    );
    assert.deepEqual(contents(), before);
  });

  it('When the content type or encoding is not OTLP/HTTP, then it answers 415 and keeps nothing', async () => {
    const [sample] = makeTraceExports(1, 8);
    const before = contents();
    assert.equal((await post(sample!.json, { 'content-type': 'text/plain' })).status, 415);
    assert.equal((await post(sample!.protobuf, { 'content-type': 'application/grpc' })).status, 415);
    const brotli = await post(sample!.json, { 'content-type': 'application/json', 'content-encoding': 'br' });
    assert.equal(brotli.status, 415);
    assert.match(((await brotli.json()) as { message: string }).message, /gzip/);
    assert.deepEqual(contents(), before);
  });

  it('When an export is larger than the limit, on the wire or once inflated, then it answers 413 and keeps nothing', async () => {
    const before = contents();
    const tooLarge = await post(Buffer.alloc(MAX_EXPORT_BYTES + 1, 0x20), { 'content-type': 'application/json' });
    assert.equal(tooLarge.status, 413);
    // 256 gzip members of 1 MiB of zeros each: 256 KB on the wire, 256 MiB inflated; inflating must stop at the limit.
    const bomb = Buffer.concat(Array.from({ length: 256 }, () => gzipSync(Buffer.alloc(1024 * 1024), { level: 9 })));
    const rssBefore = process.memoryUsage().rss;
    const bombs = await Promise.all(
      Array.from({ length: 4 }, () =>
        post(bomb, { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' }),
      ),
    );
    assert.deepEqual(
      bombs.map((r) => r.status),
      [413, 413, 413, 413],
    );
    const grown = process.memoryUsage().rss - rssBefore;
    assert.ok(
      grown < 256 * 1024 * 1024,
      `inflating four bombs at once (1 GiB in all) grew the process by ${grown} bytes`,
    );
    assert.deepEqual(contents(), before);
    assert.equal((await fetch(`${server.queryUrl}/api/v3/services`)).status, 200);
  });

  it('When something other than a POST to /v1/traces arrives, then it answers 404 or 405', async () => {
    assert.equal((await fetch(`${server.otlpUrl}/v1/traces`)).status, 405);
    assert.equal(
      (
        await fetch(`${server.otlpUrl}/v1/metrics`, {
          method: 'POST',
          body: '{}',
          headers: { 'content-type': 'application/json' },
        })
      ).status,
      404,
    );
  });
});
