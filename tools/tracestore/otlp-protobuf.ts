import { join } from 'node:path';
import protobuf from 'protobufjs';
import type { Type } from 'protobufjs';
import { ensureOtlpDefinitions } from './otlp-definitions.ts';

// The official OTLP definitions, read by protobufjs (the library grpc-js loads .proto files with).
// @opentelemetry/otlp-transformer cannot decode requests: it ships a hand-written encoder, and a reader for export
// responses only.
let types: { request: Type; response: Type; status: Type; accepted: Buffer } | undefined;

/** Loads the OTLP definitions (fetching them on first use); the store calls it before it takes exports. */
export async function loadOtlpProtobuf(log?: (line: string) => void): Promise<void> {
  if (types) return;
  const dir = await ensureOtlpDefinitions(log);
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => join(dir, target);
  root.loadSync('opentelemetry/proto/collector/trace/v1/trace_service.proto');
  // google.rpc.Status, the body of an OTLP/HTTP error: three fields, written out here rather than fetching googleapis.
  root.add(
    new protobuf.Type('Status')
      .add(new protobuf.Field('code', 1, 'int32'))
      .add(new protobuf.Field('message', 2, 'string'))
      .add(new protobuf.Field('details', 3, 'bytes', 'repeated')),
  );
  const response = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse');
  types = {
    request: root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest'),
    response,
    status: root.lookupType('Status'),
    accepted: Buffer.from(response.encode(response.create({})).finish()),
  };
}

const loaded = () => {
  if (!types) throw new Error('the OTLP definitions are not loaded: call loadOtlpProtobuf() first');
  return types;
};

// What protobufjs decodes, as far as the conversion reads it. Unset scalars read as their defaults; 64-bit integers
// are Long objects (two 32-bit halves); bytes are Buffers viewing the request body.
type Long = { low: number; high: number };
type Bytes = Uint8Array;
interface AnyValue {
  value?: string;
  stringValue: string;
  boolValue: boolean;
  intValue: Long | number;
  doubleValue: number;
  arrayValue: { values: AnyValue[] };
  kvlistValue: { values: KeyValue[] };
  bytesValue: Bytes;
}
interface KeyValue {
  key: string;
  value?: AnyValue | null;
}
interface Span {
  traceId: Bytes;
  spanId: Bytes;
  traceState: string;
  parentSpanId: Bytes;
  flags: number;
  name: string;
  kind: number;
  startTimeUnixNano: Long | number;
  endTimeUnixNano: Long | number;
  attributes: KeyValue[];
  droppedAttributesCount: number;
  events: Array<{ timeUnixNano: Long | number; name: string; attributes: KeyValue[]; droppedAttributesCount: number }>;
  droppedEventsCount: number;
  links: Array<{
    traceId: Bytes;
    spanId: Bytes;
    traceState: string;
    attributes: KeyValue[];
    droppedAttributesCount: number;
    flags: number;
  }>;
  droppedLinksCount: number;
  status?: { message: string; code: number } | null;
}
interface Request {
  resourceSpans: Array<{
    resource?: { attributes: KeyValue[]; droppedAttributesCount: number } | null;
    scopeSpans: Array<{
      scope?: { name: string; version: string; attributes: KeyValue[] } | null;
      spans: Span[];
      schemaUrl: string;
    }>;
    schemaUrl: string;
  }>;
}

// An unset bytes field reads as an empty array, not a Buffer.
const hex = (bytes: Bytes) =>
  bytes.length === 0 ? '' : Buffer.isBuffer(bytes) ? bytes.toString('hex') : Buffer.from(bytes).toString('hex');

// Long's own toString() divides in 64-bit arithmetic it emulates; BigInt is exact and several times faster here.
const decimal = (value: Long | number) =>
  typeof value === 'number' ? String(value) : ((BigInt(value.high) << 32n) | BigInt(value.low >>> 0)).toString();
const unsignedDecimal = (value: Long | number) =>
  typeof value === 'number' ? String(value) : ((BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0)).toString();

function anyValue(value: AnyValue | null | undefined): unknown {
  switch (value?.value) {
    case 'stringValue':
      return { stringValue: value.stringValue };
    case 'boolValue':
      return { boolValue: value.boolValue };
    case 'intValue':
      return { intValue: decimal(value.intValue) };
    case 'doubleValue':
      return { doubleValue: value.doubleValue };
    case 'arrayValue':
      return { arrayValue: { values: value.arrayValue.values.map(anyValue) } };
    case 'kvlistValue':
      return { kvlistValue: { values: keyValues(value.kvlistValue.values) } };
    case 'bytesValue':
      return { bytesValue: Buffer.from(value.bytesValue).toString('base64') };
    default:
      return {};
  }
}

function keyValues(list: KeyValue[]): unknown[] {
  const result = new Array(list.length);
  for (let i = 0; i < list.length; i++) result[i] = { key: list[i]!.key, value: anyValue(list[i]!.value) };
  return result;
}

// The decoder gives every field its type; what protobuf cannot say, the length of an id, is checked here.
function id(bytes: Bytes, length: number, what: string, optional = false): string {
  if (bytes.length !== length && !(optional && bytes.length === 0))
    throw new Error(`not an OTLP trace export: a ${what} of ${bytes.length} bytes, not ${length}`);
  return hex(bytes);
}

const NONE: never[] = [];

function span(s: Span) {
  return {
    traceId: id(s.traceId, 16, 'trace id'),
    spanId: id(s.spanId, 8, 'span id'),
    traceState: s.traceState,
    parentSpanId: id(s.parentSpanId, 8, 'parent span id', true),
    flags: s.flags,
    name: s.name,
    kind: s.kind,
    startTimeUnixNano: unsignedDecimal(s.startTimeUnixNano),
    endTimeUnixNano: unsignedDecimal(s.endTimeUnixNano),
    attributes: keyValues(s.attributes),
    droppedAttributesCount: s.droppedAttributesCount,
    events:
      s.events.length === 0
        ? NONE
        : s.events.map((e) => ({
            timeUnixNano: unsignedDecimal(e.timeUnixNano),
            name: e.name,
            attributes: keyValues(e.attributes),
            droppedAttributesCount: e.droppedAttributesCount,
          })),
    droppedEventsCount: s.droppedEventsCount,
    links:
      s.links.length === 0
        ? NONE
        : s.links.map((l) => ({
            traceId: id(l.traceId, 16, 'linked trace id'),
            spanId: id(l.spanId, 8, 'linked span id'),
            traceState: l.traceState,
            attributes: keyValues(l.attributes),
            droppedAttributesCount: l.droppedAttributesCount,
            flags: l.flags,
          })),
    droppedLinksCount: s.droppedLinksCount,
    status: { code: s.status?.code ?? 0, message: s.status?.message ?? '' },
  };
}

/**
 * Decodes a protobuf ExportTraceServiceRequest into its OTLP/JSON form (hex ids, unix nanoseconds as decimal
 * strings, enums as numbers), so both encodings take one path into the store; throws on bytes that are not one,
 * or whose ids have the wrong length. The result needs no further check.
 */
export function decodeTraceExport(bytes: Uint8Array): { resourceSpans: unknown[] } {
  const request = loaded().request.decode(bytes) as unknown as Request;
  return {
    resourceSpans: request.resourceSpans.map((r) => ({
      resource: {
        attributes: keyValues(r.resource?.attributes ?? []),
        droppedAttributesCount: r.resource?.droppedAttributesCount ?? 0,
      },
      scopeSpans: r.scopeSpans.map((s) => ({
        scope: {
          name: s.scope?.name ?? '',
          version: s.scope?.version ?? '',
          attributes: keyValues(s.scope?.attributes ?? []),
        },
        spans: s.spans.map(span),
        schemaUrl: s.schemaUrl,
      })),
      schemaUrl: r.schemaUrl,
    })),
  };
}

/** The protobuf ExportTraceServiceResponse of a fully accepted export. */
export function exportAccepted(): Buffer {
  return loaded().accepted;
}

/** A google.rpc.Status in protobuf, the body OTLP/HTTP gives a failed protobuf export. */
export function encodeStatus(code: number, message: string): Buffer {
  return Buffer.from(loaded().status.encode(loaded().status.create({ code, message })).finish());
}
