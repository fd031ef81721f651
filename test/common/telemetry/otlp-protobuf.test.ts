import assert from 'node:assert/strict';
import { it } from 'node:test';
import { SpanKind, SpanStatusCode, TraceFlags, context, trace } from '@opentelemetry/api';
import type { Attributes, Tracer } from '@opentelemetry/api';
import { TraceState } from '@opentelemetry/core';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { TracerProvider } from '@opentelemetry/sdk-trace';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { EncodedSpans, serializeEncoded } from '../../../common/telemetry/otlp-protobuf.ts';

// The project's protobuf serializer against the OpenTelemetry exporter's own: the same bytes for every kind of span
// and attribute, so a collector or Jaeger reads exactly what it read before.

const ended: ReadableSpan[] = [];
const collect = {
  onStart() {},
  onEnd: (span: ReadableSpan) => void ended.push(span),
  forceFlush: async () => {},
  shutdown: async () => {},
};
const provider = (service: string, attributeCountLimit = 128) =>
  new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': service, 'process.pid': 4242, 'host.arch': 'amd64' }),
    spanLimits: {
      attributeCountLimit,
      attributePerEventCountLimit: attributeCountLimit,
      attributePerLinkCountLimit: attributeCountLimit,
      eventCountLimit: 3,
      linkCountLimit: 3,
    },
    spanProcessors: [collect],
  });

const ATTRIBUTES: Attributes = {
  ascii: 'POST /orders/online',
  empty: '',
  accented: 'Crème brûlée',
  emoji: 'sushi 🍣',
  'lone surrogate': 'a\ud800b',
  // At 42 characters a string's UTF-8 can take 126 bytes, the most a one-byte length holds; 43 can take 129.
  'three-byte 42': '寿'.repeat(42),
  'three-byte 43': '寿'.repeat(43),
  'ascii 200': 'x'.repeat(200),
  'long, three-byte length': 'maki '.repeat(4000),
  true: true,
  false: false,
  zero: 0,
  small: 127,
  'two bytes': 128,
  'past 2^31': 2 ** 31,
  'past 2^32': 2 ** 32 + 5,
  'past 2^53': 2 ** 60,
  'minus one': -1,
  'big negative': -(2 ** 40) - 3,
  half: 1.5,
  'not a number': Number.NaN,
  infinity: Number.POSITIVE_INFINITY,
  'past 2^63': 2 ** 64,
  strings: ['a', 'é', ''],
  numbers: [1, 2.5, -3],
  booleans: [true, false],
  'with gaps': ['a', null, undefined, 'b'],
  'empty array': [],
};

function spansOf(tracer: Tracer, other: Tracer): void {
  const remote = trace.setSpanContext(context.active(), {
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    spanId: '00f067aa0ba902b7',
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
    traceState: new TraceState('ituna=1,vendor=abc'),
  });
  for (const kind of [SpanKind.INTERNAL, SpanKind.SERVER, SpanKind.CLIENT, SpanKind.PRODUCER, SpanKind.CONSUMER]) {
    const span = tracer.startSpan(`span of kind ${kind}`, { kind, attributes: ATTRIBUTES }, remote);
    span.addEvent('the oldest, past the limit of three');
    span.addEvent('with attributes', { 'ituna.order.status': 'accepted', offset: 7, a: 1, b: 2, c: 3, d: 4 });
    span.addEvent('at a time', {}, [1_700_000_000, 123_456_789]);
    span.addEvent('plain');
    // Over the limit of three, the oldest link goes.
    span.addLink({ context: trace.getSpanContext(remote)! });
    span.addLink({
      context: { traceId: 'ABCDEF0123456789ABCDEF0123456789', spanId: 'ABCDEF0123456789', traceFlags: 0 },
    });
    // Ids nobody checked: an odd number of digits, and one too long for a one-byte length.
    span.addLink({ context: { traceId: 'abc', spanId: 'f'.repeat(300), traceFlags: 1 } });
    span.addLink({
      context: trace.getSpanContext(remote)!,
      attributes: { why: 'batch', a: 1, b: 2, c: 3, d: 4, e: 5 },
    });
    span.setStatus(
      kind === SpanKind.CLIENT ? { code: SpanStatusCode.ERROR, message: 'kitchen closed 🍣' } : { code: kind % 2 },
    );
    span.end([1_700_000_001, 5]);
  }
  const parent = other.startSpan('local parent');
  other.startSpan('child', {}, trace.setSpan(context.active(), parent)).end();
  parent.end();
}

/** The spans written as the services write them, each as it ends, then the request put together from their bytes. */
function serializeSpans(spans: readonly ReadableSpan[]): Uint8Array {
  const batch = new EncodedSpans();
  for (const span of spans) batch.add(span);
  return serializeEncoded(batch);
}

const assertSame = (spans: ReadableSpan[]) =>
  assert.deepEqual(
    Buffer.from(serializeSpans(spans)),
    Buffer.from(ProtobufTraceSerializer.serializeRequest(spans) ?? new Uint8Array()),
  );

it('When spans of every kind, attribute type, event, link and status are serialized, then the bytes are those of the OpenTelemetry serializer', () => {
  ended.length = 0;
  const first = provider('ituna-gateway');
  const second = provider('ituna-kitchen', 5);
  spansOf(
    first.getTracer('ituna', '1.2.3', { schemaUrl: 'https://opentelemetry.io/schemas/1.30.0' }),
    first.getTracer('other'),
  );
  spansOf(second.getTracer('ituna'), second.getTracer('other', undefined, { schemaUrl: 'x' }));
  assert.equal(ended.length, 14);
  assert.ok(ended.some((s) => s.droppedAttributesCount > 0 && s.droppedEventsCount > 0 && s.droppedLinksCount > 0));
  assert.ok(
    ended.some((s) => s.events.some((e) => e.droppedAttributesCount) && s.links.some((l) => l.droppedAttributesCount)),
  );
  assertSame(ended);
  // One span at a time too: each on its own, with the resource and scope around it.
  for (const span of ended) assertSame([span]);
  assertSame([]);
});

it('When an export outgrows the buffer, then it is written whole, and the bytes returned are not reused by the next export', () => {
  ended.length = 0;
  const tracer = provider('ituna-validation').getTracer('ituna');
  for (let i = 0; i < 2000; i++)
    tracer.startSpan(`check ${i}`, { attributes: { 'ituna.order.id': crypto.randomUUID(), attempt: i } }).end();
  const all = ended.slice();
  const big = serializeSpans(all);
  assert.ok(big.length > 128 * 1024, `${big.length} bytes`);
  const copy = Buffer.from(big);
  assertSame(all);
  assertSame(all.slice(0, 3));
  assert.deepEqual(Buffer.from(big), copy);
});
