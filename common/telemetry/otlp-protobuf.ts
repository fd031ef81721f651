import type { Attributes, AttributeValue, HrTime, SpanContext } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import { OTLPExporterBase } from '@opentelemetry/otlp-exporter-base';
import { convertLegacyHttpOptions, createOtlpHttpExportDelegate } from '@opentelemetry/otlp-exporter-base/node-http';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace';

/**
 * The OTLP/HTTP protobuf trace exporter, as `@opentelemetry/exporter-trace-otlp-proto` builds it (the same HTTP client,
 * retries and OTEL_EXPORTER_OTLP_* variables), for spans already written as they ended (`EncodedSpans`).
 */
export function protobufTraceExporter(): OTLPExporterBase<EncodedSpans> {
  const http = convertLegacyHttpOptions({}, 'TRACES', 'v1/traces', { 'Content-Type': 'application/x-protobuf' });
  const serializer = {
    serializeRequest: serializeEncoded,
    deserializeResponse: ProtobufTraceSerializer.deserializeResponse,
  };
  const metrics = { name: 'span' as const, countItems: (batch: EncodedSpans) => batch.count };
  return new OTLPExporterBase(
    createOtlpHttpExportDelegate(http, serializer, 'otlp_http_span_exporter', metrics, undefined),
  );
}

/**
 * Spans written as they end, each as the `ScopeSpans.spans` field it will be, with the resource and scope it belongs
 * under. Why: a span object waiting in a batch for its export lives long enough for V8 to move it into the old
 * generation; its bytes do not (docs/benchmarks-history.md, tuning 36).
 */
export class EncodedSpans {
  readonly writer = new Writer();
  readonly resources: Resource[] = [];
  readonly scopes: InstrumentationScope[] = [];
  /** Where each span's bytes end in the writer's buffer; each starts where the one before ends. */
  readonly ends: number[] = [];

  get count(): number {
    return this.ends.length;
  }

  add(span: ReadableSpan): void {
    writeSpan(this.writer, span);
    this.resources.push(span.resource);
    this.scopes.push(span.instrumentationScope);
    this.ends.push(this.writer.pos);
  }

  clear(): void {
    this.writer.pos = 0;
    this.resources.length = 0;
    this.scopes.length = 0;
    this.ends.length = 0;
  }
}

/**
 * The ExportTraceServiceRequest (OTLP protobuf) for spans already written, grouped by resource, then by scope, both in
 * the order first seen: byte for byte what the OpenTelemetry exporter's own serializer writes for those spans (a test
 * holds them equal). Why a writer of the project's own: the SDK's writes every string three times (a size pass, an
 * ASCII check, the copy) and every id through a fresh array; this one writes each string once, at a third of the CPU a
 * span (docs/benchmarks-history.md, tuning 35).
 */
export function serializeEncoded(batch: EncodedSpans): Uint8Array {
  const w = writer;
  w.pos = 0;
  for (const [resource, scopes] of byResourceAndScope(batch)) {
    w.byte(0x0a); // ExportTraceServiceRequest.resource_spans = 1
    const resourceSpans = w.begin(3);
    writeResource(w, resource);
    for (const [scope, spans] of scopes) {
      w.byte(0x12); // ResourceSpans.scope_spans = 2
      const start = w.begin(3);
      writeScope(w, scope);
      for (const i of spans) w.copy(batch.writer.buf, i === 0 ? 0 : batch.ends[i - 1]!, batch.ends[i]!);
      if (scope.schemaUrl) w.field(3, scope.schemaUrl);
      w.end(start, 3);
    }
    if (resource.schemaUrl) w.field(3, resource.schemaUrl);
    w.end(resourceSpans, 3);
  }
  // The exporter sends the bytes after this returns, while the next export may already be written: a copy of its own.
  return new Uint8Array(w.buf.subarray(0, w.pos));
}

/** Each span's index grouped by resource, then by instrumentation scope, both by identity, in the order first seen. */
function byResourceAndScope(batch: EncodedSpans): Map<Resource, Map<InstrumentationScope, number[]>> {
  const resources = new Map<Resource, Map<InstrumentationScope, number[]>>();
  for (let i = 0; i < batch.count; i++) {
    let scopes = resources.get(batch.resources[i]!);
    if (!scopes) {
      scopes = new Map();
      resources.set(batch.resources[i]!, scopes);
    }
    const group = scopes.get(batch.scopes[i]!);
    if (group) group.push(i);
    else scopes.set(batch.scopes[i]!, [i]);
  }
  return resources;
}

// Status, link and span flags: the W3C flags, and whether the parent was remote (OTLP 1.4's SpanFlags).
const HAS_IS_REMOTE = 0x100;
const IS_REMOTE = 0x200;
const flagsOf = (traceFlags: number, remote: boolean | undefined) =>
  (traceFlags & 0xff) | HAS_IS_REMOTE | (remote ? IS_REMOTE : 0);

function writeSpan(w: Writer, span: ReadableSpan): void {
  w.byte(0x12); // ScopeSpans.spans = 2
  const start = w.begin(2);
  const ctx: SpanContext = span.spanContext();
  w.hexId(0x0a, ctx.traceId);
  w.hexId(0x12, ctx.spanId);
  const traceState = ctx.traceState?.serialize();
  if (traceState) w.field(3, traceState);
  const parent = span.parentSpanContext;
  if (parent?.spanId) w.hexId(0x22, parent.spanId);
  w.field(5, span.name);
  if (span.kind != null) {
    w.byte(0x30); // kind = 6, the API's kind + 1
    w.varint(span.kind + 1);
  }
  w.byte(0x39); // start_time_unix_nano = 7
  w.time(span.startTime);
  w.byte(0x41); // end_time_unix_nano = 8
  w.time(span.endTime);
  if (span.attributes) writeAttributes(w, 0x4a, span.attributes);
  w.byte(0x50);
  w.varint(span.droppedAttributesCount);
  for (const event of span.events) writeEvent(w, event);
  w.byte(0x60);
  w.varint(span.droppedEventsCount);
  for (const link of span.links) {
    w.byte(0x6a); // links = 13
    const linkStart = w.begin(1);
    w.hexId(0x0a, link.context.traceId);
    w.hexId(0x12, link.context.spanId);
    const linkState = link.context.traceState?.serialize();
    if (linkState) w.field(3, linkState);
    if (link.attributes) writeAttributes(w, 0x22, link.attributes);
    w.byte(0x28);
    w.varint(link.droppedAttributesCount || 0);
    w.byte(0x35); // flags = 6, fixed32
    w.fixed32(flagsOf(link.context.traceFlags, link.context.isRemote));
    w.end(linkStart, 1);
  }
  w.byte(0x70);
  w.varint(span.droppedLinksCount);
  w.byte(0x7a); // status = 15
  const status = w.begin(1);
  if (span.status.message) w.field(2, span.status.message);
  w.byte(0x18);
  w.varint(span.status.code);
  w.end(status, 1);
  w.byte(0x85); // flags = 16, fixed32: a two-byte tag
  w.byte(0x01);
  w.fixed32(flagsOf(ctx.traceFlags, parent?.isRemote));
  w.end(start, 2);
}

function writeEvent(w: Writer, event: TimedEvent): void {
  w.byte(0x5a); // Span.events = 11
  const start = w.begin(1);
  w.byte(0x09);
  w.time(event.time);
  w.field(2, event.name);
  if (event.attributes) writeAttributes(w, 0x1a, event.attributes);
  w.byte(0x20);
  w.varint(event.droppedAttributesCount || 0);
  w.end(start, 1);
}

function writeResource(w: Writer, resource: Resource): void {
  w.byte(0x0a); // ResourceSpans.resource = 1
  const start = w.begin(2);
  if (resource.attributes) writeAttributes(w, 0x0a, resource.attributes);
  w.byte(0x10); // dropped_attributes_count, always 0
  w.byte(0x00);
  w.end(start, 2);
}

function writeScope(
  w: Writer,
  scope: InstrumentationScope & { attributes?: Attributes; droppedAttributesCount?: number },
) {
  w.byte(0x0a); // ScopeSpans.scope = 1
  const start = w.begin(1);
  w.field(1, scope.name);
  if (scope.version) w.field(2, scope.version);
  if (scope.attributes) writeAttributes(w, 0x1a, scope.attributes);
  if (scope.droppedAttributesCount) {
    w.byte(0x20);
    w.varint(scope.droppedAttributesCount);
  }
  w.end(start, 1);
}

/** Each attribute as a KeyValue under the one-byte tag given. */
function writeAttributes(w: Writer, tag: number, attributes: Attributes): void {
  for (const key in attributes) {
    if (!Object.hasOwn(attributes, key)) continue;
    w.byte(tag);
    const keyValue = w.begin(1);
    w.key(key);
    w.byte(0x12); // KeyValue.value = 2
    const value = w.begin(1);
    writeAnyValue(w, attributes[key]);
    w.end(value, 1);
    w.end(keyValue, 1);
  }
}

const INT64_MIN = -(2 ** 63);
const INT64_MAX = 2 ** 63;

/** An AnyValue's one field; nothing at all for a value OTLP cannot hold (undefined, null), as the SDK does. */
function writeAnyValue(w: Writer, value: AttributeValue | undefined): void {
  if (typeof value === 'string') w.field(1, value);
  else if (typeof value === 'boolean') {
    w.byte(0x10);
    w.byte(value ? 1 : 0);
  } else if (typeof value === 'number') {
    if (Number.isInteger(value) && value >= INT64_MIN && value < INT64_MAX) {
      w.byte(0x18);
      w.varint(value);
    } else {
      w.byte(0x21);
      w.double(value);
    }
  } else if (Array.isArray(value)) {
    w.byte(0x2a); // array_value = 5
    const array = w.begin(1);
    for (const item of value) {
      w.byte(0x0a);
      const itemStart = w.begin(1);
      writeAnyValue(w, item ?? undefined);
      w.end(itemStart, 1);
    }
    w.end(array, 1);
  }
}

/**
 * A growing buffer kept between exports. A length-delimited message reserves the bytes its length will most likely
 * need (`begin`) and moves its content only when the guess was wrong (`end`), so lengths stay minimal varints.
 */
class Writer {
  buf = Buffer.allocUnsafe(64 * 1024);
  pos = 0;

  ensure(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + bytes) size *= 2;
    const bigger = Buffer.allocUnsafe(size);
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }

  /** Bytes `from` to `to` of another buffer. */
  copy(source: Buffer, from: number, to: number): void {
    this.ensure(to - from);
    this.pos += source.copy(this.buf, this.pos, from, to);
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }

  begin(guess: number): number {
    this.ensure(guess);
    const at = this.pos;
    this.pos += guess;
    return at;
  }

  end(at: number, guess: number): void {
    const length = this.pos - at - guess;
    const size = length < 0x80 ? 1 : length < 0x4000 ? 2 : length < 0x200000 ? 3 : length < 0x10000000 ? 4 : 5;
    if (size !== guess) {
      this.ensure(size - guess);
      this.buf.copyWithin(at + size, at + guess, this.pos);
      this.pos += size - guess;
    }
    this.varint32At(at, length);
  }

  /** An unsigned 32-bit varint written at `at` (room already ensured); returns the position after it. */
  varint32At(at: number, value: number): number {
    const buf = this.buf;
    let v = value >>> 0;
    while (v > 0x7f) {
      buf[at++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[at++] = v;
    return at;
  }

  /** A varint: unsigned 32-bit values directly, others (negative or wider) as 64-bit two's complement. */
  varint(value: number): void {
    this.ensure(10);
    if (value >= 0 && value <= 0xffffffff) {
      this.pos = this.varint32At(this.pos, value);
      return;
    }
    const buf = this.buf;
    const abs = Math.abs(value);
    let low = abs >>> 0;
    let high = (abs / 0x100000000) >>> 0;
    if (value < 0) {
      low = ~low >>> 0;
      high = ~high >>> 0;
      low = (low + 1) >>> 0;
      if (low === 0) high = (high + 1) >>> 0;
    }
    while (high > 0 || low > 0x7f) {
      buf[this.pos++] = (low & 0x7f) | 0x80;
      low = ((low >>> 7) | (high << 25)) >>> 0;
      high >>>= 7;
    }
    buf[this.pos++] = low & 0x7f;
  }

  /** Four bytes, little-endian: a fixed32, or half of a fixed64. */
  fixed32(value: number): void {
    this.ensure(4);
    const buf = this.buf;
    let at = this.pos;
    for (let v = value >>> 0, i = 0; i < 4; i++, v >>>= 8) buf[at++] = v & 0xff;
    this.pos = at;
  }

  double(value: number): void {
    this.ensure(8);
    this.pos = this.buf.writeDoubleLE(value, this.pos);
  }

  /** HrTime as fixed64 nanoseconds, in 32-bit halves: seconds × 1e9 is past 2^53 and would round as a number. */
  time([seconds, nanos]: HrTime): void {
    const fromLow16 = (seconds & 0xffff) * 1e9;
    const fromHigh = ((seconds / 0x10000) >>> 0) * 1e9;
    const low = (fromLow16 >>> 0) + (((fromHigh & 0xffff) * 0x10000) >>> 0) + nanos;
    const high = Math.floor(fromLow16 / 0x100000000) + ((fromHigh / 0x10000) >>> 0) + Math.floor(low / 0x100000000);
    this.fixed32(low);
    this.fixed32(high);
  }

  /** A trace or span id's hex as bytes, under a one-byte tag, with no array in between (an odd last digit dropped). */
  hexId(tag: number, hex: string): void {
    const bytes = hex.length >>> 1;
    this.byte(tag);
    this.varint(bytes);
    this.ensure(bytes);
    const buf = this.buf;
    let at = this.pos;
    for (let i = 0; i + 1 < hex.length; i += 2)
      buf[at++] = (HEX[hex.charCodeAt(i)]! << 4) | HEX[hex.charCodeAt(i + 1)]!;
    this.pos = at;
  }

  /** An attribute's key (KeyValue.key = 1): the few keys a service uses, each encoded once and copied after. */
  key(text: string): void {
    const encoded = keys.get(text);
    if (!encoded) {
      const at = this.pos;
      this.field(1, text);
      if (keys.size < MAX_KEYS) keys.set(text, new Uint8Array(this.buf.subarray(at, this.pos)));
      return;
    }
    const length = encoded.length;
    this.ensure(length);
    const buf = this.buf;
    for (let i = 0; i < length; i++) buf[this.pos + i] = encoded[i]!;
    this.pos += length;
  }

  /** A string field (field number under 16): ASCII copied in the one pass, anything else encoded by Node. */
  field(field: number, text: string): void {
    const chars = text.length;
    // Up to 42 characters, the UTF-8 is at most 126 bytes: its length is one byte, known only after the copy.
    if (chars <= 42) {
      this.ensure(2 + 3 * chars);
      const buf = this.buf;
      buf[this.pos] = (field << 3) | 2;
      const from = this.pos + 2;
      let at = from;
      for (let i = 0; i < chars; i++) {
        const c = text.charCodeAt(i);
        if (c > 0x7f) {
          at = from + buf.write(text, from, 'utf8');
          break;
        }
        buf[at++] = c;
      }
      buf[this.pos + 1] = at - from;
      this.pos = at;
      return;
    }
    const bytes = Buffer.byteLength(text, 'utf8');
    this.byte((field << 3) | 2);
    this.varint(bytes);
    this.ensure(bytes);
    this.pos += this.buf.write(text, this.pos, bytes, 'utf8');
  }
}

/** Each hex digit's value by its character code: 0-9, a-f, A-F. */
const HEX = new Uint8Array(128);
for (let c = 0; c < 128; c++) HEX[c] = c <= 0x39 ? c - 0x30 : c >= 0x61 ? c - 0x57 : c - 0x37;

const writer = new Writer();
/** Attribute keys seen, with their field's bytes; bounded, for a service that would make keys up as it goes. */
const keys = new Map<string, Uint8Array>();
const MAX_KEYS = 1024;
