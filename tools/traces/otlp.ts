/** Span kinds by their OTLP numbers. */
const SPAN_KINDS = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'] as const;

export type AttributeValue = string | number | boolean | Array<string | number | boolean>;

/** An OTLP AnyValue in OTLP/JSON. */
export type AnyValue = {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number | string;
  boolValue?: boolean;
  arrayValue?: { values?: AnyValue[] };
  kvlistValue?: { values?: KeyValue[] };
  bytesValue?: string;
};
/** An OTLP KeyValue in OTLP/JSON. */
export type KeyValue = { key: string; value?: AnyValue };

/**
 * Attribute values whose plain form would encode back differently (a whole-number double, an int beyond 2^53, bytes,
 * a key-value list, an empty value), by key: so what a store was sent is what it gives back.
 */
export type TypedValues = Record<string, AnyValue>;

/** The resource and scope a span arrived in, as sent; one object shared by the spans of one resource or scope. */
export interface OtlpOrigin {
  resource: { attributes: KeyValue[]; droppedAttributesCount?: number; schemaUrl?: string };
  scope: {
    name?: string;
    version?: string;
    attributes?: KeyValue[];
    droppedAttributesCount?: number;
    schemaUrl?: string;
  };
}

/** OTLP span fields the tools do not read, kept so the span encodes back as it arrived. */
interface OtlpDetails extends Partial<OtlpOrigin> {
  traceState?: string;
  flags?: number;
  droppedAttributesCount?: number;
  droppedEventsCount?: number;
  droppedLinksCount?: number;
  typed?: TypedValues;
}

/** One span as the project's tools read it: ids in hex, times in (fractional) milliseconds, plain attributes. */
export interface FlatSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: (typeof SPAN_KINDS)[number];
  service: string;
  /** Milliseconds to the microsecond, for arithmetic; the exact times are the unix-nano strings below. */
  startMs: number;
  endMs: number;
  durationMs: number;
  /** Exact OTLP times, unix nanoseconds as decimal strings (absent in spans stored before they were kept). */
  startTimeUnixNano?: string;
  endTimeUnixNano?: string;
  attributes: Record<string, AttributeValue>;
  status: { code: 'unset' | 'ok' | 'error'; message?: string };
  events: Array<{
    name: string;
    timeMs: number;
    timeUnixNano?: string;
    attributes: Record<string, AttributeValue>;
    typed?: TypedValues;
    droppedAttributesCount?: number;
  }>;
  links: Array<{
    traceId: string;
    spanId: string;
    traceState?: string;
    flags?: number;
    attributes?: Record<string, AttributeValue>;
    typed?: TypedValues;
    droppedAttributesCount?: number;
  }>;
  otlp?: OtlpDetails;
}

function attributeValueOf(value: AnyValue | undefined): AttributeValue {
  if (!value) return '';
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return Number(value.doubleValue);
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.arrayValue)
    return (value.arrayValue.values ?? []).map((v) => attributeValueOf(v) as string | number | boolean);
  return '';
}

/** An AnyValue as Jaeger's JSON encoder writes it: ints as decimal strings, empty lists left out. */
export function canonicalValue(value: AnyValue | undefined): AnyValue {
  if (!value) return {};
  if (value.stringValue !== undefined) return { stringValue: value.stringValue };
  if (value.boolValue !== undefined) return { boolValue: value.boolValue };
  if (value.intValue !== undefined) return { intValue: BigInt(value.intValue).toString() };
  if (value.doubleValue !== undefined) return { doubleValue: value.doubleValue };
  if (value.arrayValue)
    return {
      arrayValue: value.arrayValue.values?.length ? { values: value.arrayValue.values.map(canonicalValue) } : {},
    };
  if (value.kvlistValue)
    return {
      kvlistValue: value.kvlistValue.values?.length ? { values: canonicalKeyValues(value.kvlistValue.values) } : {},
    };
  if (value.bytesValue !== undefined) return { bytesValue: value.bytesValue };
  return {};
}

const canonicalKeyValues = (list: KeyValue[] | undefined): KeyValue[] =>
  (list ?? []).map(({ key, value }) => ({ key, value: canonicalValue(value) }));

/**
 * Whether the plain value encodes back to the exact AnyValue it came from, so it needs no typed copy. The scalar cases
 * are decided without serialising: this runs for every attribute of every span the trace store takes.
 */
function roundTrips(value: AnyValue | undefined, plain: AttributeValue): boolean {
  if (value?.stringValue !== undefined || value?.boolValue !== undefined) return true;
  if (value?.intValue !== undefined) return typeof plain === 'number' && Number.isSafeInteger(plain);
  if (value?.doubleValue !== undefined) return !Number.isInteger(value.doubleValue);
  return JSON.stringify(anyValueOf(plain)) === JSON.stringify(canonicalValue(value));
}

function attributesOf(list: KeyValue[] | undefined): {
  attributes: Record<string, AttributeValue>;
  typed?: TypedValues;
} {
  const attributes: Record<string, AttributeValue> = {};
  let typed: TypedValues | undefined;
  for (const { key, value } of list ?? []) {
    const plain = attributeValueOf(value);
    // Assigning "__proto__" would set the prototype instead of an attribute.
    if (key === '__proto__')
      Object.defineProperty(attributes, key, { value: plain, enumerable: true, writable: true, configurable: true });
    else attributes[key] = plain;
    if (!roundTrips(value, plain)) {
      typed ??= {};
      typed[key] = canonicalValue(value);
    }
  }
  return typed ? { attributes, typed } : { attributes };
}

// An all-zero id is no id: OTLP's encoders leave it out.
const isZeroId = (id: string | undefined) => !id || /^0*$/.test(id);

// Unix nanoseconds arrive as decimal strings beyond 2^53: milliseconds keep microsecond precision, the string all of it.
const nanosOf = (nanos: string | number | undefined) => BigInt(nanos ?? 0).toString();
const nanosToMs = (nanos: string) => Number(BigInt(nanos) / 1000n) / 1000;
const positive = (value: unknown): value is number => typeof value === 'number' && value > 0;

/** Decodes an OTLP/HTTP JSON ExportTraceServiceRequest into flat spans. */
export function flattenResourceSpans(body: unknown): FlatSpan[] {
  const resourceSpans = (body as { resourceSpans?: unknown })?.resourceSpans;
  if (!Array.isArray(resourceSpans)) throw new Error('not an OTLP trace export: no resourceSpans array');
  const spans: FlatSpan[] = [];
  for (const resourceSpan of resourceSpans) {
    const resourceAttributes = resourceSpan.resource?.attributes as KeyValue[] | undefined;
    const service = String(attributesOf(resourceAttributes).attributes['service.name'] ?? 'unknown_service');
    const resource: OtlpOrigin['resource'] = { attributes: canonicalKeyValues(resourceAttributes) };
    if (positive(resourceSpan.resource?.droppedAttributesCount))
      resource.droppedAttributesCount = resourceSpan.resource.droppedAttributesCount;
    if (resourceSpan.schemaUrl) resource.schemaUrl = resourceSpan.schemaUrl;
    for (const scopeSpan of resourceSpan.scopeSpans ?? []) {
      const scope: OtlpOrigin['scope'] = {};
      if (scopeSpan.scope?.name) scope.name = scopeSpan.scope.name;
      if (scopeSpan.scope?.version) scope.version = scopeSpan.scope.version;
      if (scopeSpan.scope?.attributes?.length) scope.attributes = canonicalKeyValues(scopeSpan.scope.attributes);
      if (positive(scopeSpan.scope?.droppedAttributesCount))
        scope.droppedAttributesCount = scopeSpan.scope.droppedAttributesCount;
      if (scopeSpan.schemaUrl) scope.schemaUrl = scopeSpan.schemaUrl;
      for (const span of scopeSpan.spans ?? []) {
        const startTimeUnixNano = nanosOf(span.startTimeUnixNano);
        const endTimeUnixNano = nanosOf(span.endTimeUnixNano);
        const startMs = nanosToMs(startTimeUnixNano);
        const endMs = nanosToMs(endTimeUnixNano);
        const { attributes, typed } = attributesOf(span.attributes);
        const otlp: OtlpDetails = { resource, scope };
        if (span.traceState) otlp.traceState = span.traceState;
        if (span.flags) otlp.flags = span.flags;
        if (positive(span.droppedAttributesCount)) otlp.droppedAttributesCount = span.droppedAttributesCount;
        if (positive(span.droppedEventsCount)) otlp.droppedEventsCount = span.droppedEventsCount;
        if (positive(span.droppedLinksCount)) otlp.droppedLinksCount = span.droppedLinksCount;
        if (typed) otlp.typed = typed;
        spans.push({
          traceId: span.traceId,
          spanId: span.spanId,
          parentSpanId: isZeroId(span.parentSpanId) ? undefined : span.parentSpanId,
          name: span.name,
          kind: SPAN_KINDS[span.kind ?? 0] ?? 'unspecified',
          service,
          startMs,
          endMs,
          durationMs: endMs - startMs,
          startTimeUnixNano,
          endTimeUnixNano,
          attributes,
          status: {
            code: (['unset', 'ok', 'error'] as const)[span.status?.code ?? 0] ?? 'unset',
            message: span.status?.message || undefined,
          },
          events: (span.events ?? []).map(
            (e: { name: string; timeUnixNano?: string; attributes?: KeyValue[]; droppedAttributesCount?: number }) => {
              const timeUnixNano = nanosOf(e.timeUnixNano);
              return {
                name: e.name ?? '',
                timeMs: nanosToMs(timeUnixNano),
                timeUnixNano,
                ...attributesOf(e.attributes),
                ...(positive(e.droppedAttributesCount) ? { droppedAttributesCount: e.droppedAttributesCount } : {}),
              };
            },
          ),
          links: (span.links ?? []).map(
            (l: {
              traceId: string;
              spanId: string;
              traceState?: string;
              flags?: number;
              attributes?: KeyValue[];
              droppedAttributesCount?: number;
            }) => ({
              traceId: l.traceId,
              spanId: l.spanId,
              ...(l.traceState ? { traceState: l.traceState } : {}),
              ...(l.flags ? { flags: l.flags } : {}),
              ...(l.attributes?.length ? attributesOf(l.attributes) : {}),
              ...(positive(l.droppedAttributesCount) ? { droppedAttributesCount: l.droppedAttributesCount } : {}),
            }),
          ),
          otlp,
        });
      }
    }
  }
  return spans;
}

function anyValueOf(value: AttributeValue): AnyValue {
  if (Array.isArray(value)) return { arrayValue: value.length ? { values: value.map(anyValueOf) } : {} };
  if (typeof value === 'boolean') return { boolValue: value };
  if (typeof value === 'number') return Number.isInteger(value) ? { intValue: String(value) } : { doubleValue: value };
  return { stringValue: value };
}

/** Plain attributes (and the exact values kept beside them) as an OTLP KeyValue list. */
export const keyValues = (attributes: Record<string, AttributeValue>, typed?: TypedValues): KeyValue[] =>
  Object.entries(attributes).map(([key, value]) => ({ key, value: typed?.[key] ?? anyValueOf(value) }));

// Spans stored before the exact times were kept have milliseconds only.
const msToNanos = (ms: number) => (BigInt(Math.round(ms * 1000)) * 1000n).toString();

const STATUS_CODES = { unset: 0, ok: 1, error: 2 } as const;

/** One span in OTLP/JSON, leaving out empty and zero fields as Jaeger's encoder does (proto3 JSON). */
function otlpSpan(span: FlatSpan): Record<string, unknown> {
  const out: Record<string, unknown> = { traceId: span.traceId, spanId: span.spanId };
  const otlp = span.otlp ?? {};
  if (otlp.traceState) out.traceState = otlp.traceState;
  if (span.parentSpanId) out.parentSpanId = span.parentSpanId;
  if (otlp.flags) out.flags = otlp.flags;
  out.name = span.name;
  const kind = SPAN_KINDS.indexOf(span.kind);
  if (kind > 0) out.kind = kind;
  out.startTimeUnixNano = span.startTimeUnixNano ?? msToNanos(span.startMs);
  out.endTimeUnixNano = span.endTimeUnixNano ?? msToNanos(span.endMs);
  const attributes = keyValues(span.attributes, otlp.typed);
  if (attributes.length) out.attributes = attributes;
  if (otlp.droppedAttributesCount) out.droppedAttributesCount = otlp.droppedAttributesCount;
  if (span.events.length) {
    out.events = span.events.map((e) => {
      const event: Record<string, unknown> = { timeUnixNano: e.timeUnixNano ?? msToNanos(e.timeMs), name: e.name };
      const list = keyValues(e.attributes, e.typed);
      if (list.length) event.attributes = list;
      if (e.droppedAttributesCount) event.droppedAttributesCount = e.droppedAttributesCount;
      return event;
    });
  }
  if (otlp.droppedEventsCount) out.droppedEventsCount = otlp.droppedEventsCount;
  if (span.links.length) {
    out.links = span.links.map((l) => {
      const link: Record<string, unknown> = {};
      if (!isZeroId(l.traceId)) link.traceId = l.traceId;
      if (!isZeroId(l.spanId)) link.spanId = l.spanId;
      if (l.traceState) link.traceState = l.traceState;
      const list = keyValues(l.attributes ?? {}, l.typed);
      if (list.length) link.attributes = list;
      if (l.droppedAttributesCount) link.droppedAttributesCount = l.droppedAttributesCount;
      if (l.flags) link.flags = l.flags;
      return link;
    });
  }
  if (otlp.droppedLinksCount) out.droppedLinksCount = otlp.droppedLinksCount;
  const status: Record<string, unknown> = {};
  if (span.status.message) status.message = span.status.message;
  if (span.status.code !== 'unset') status.code = STATUS_CODES[span.status.code];
  out.status = status;
  return out;
}

const originOf = (span: FlatSpan): OtlpOrigin => ({
  resource: span.otlp?.resource ?? { attributes: keyValues({ 'service.name': span.service }) },
  scope: span.otlp?.scope ?? {},
});

/**
 * Encodes flat spans back into OTLP JSON `resourceSpans` (the inverse of flattenResourceSpans): trace by trace in the
 * order given, each trace's spans in their order, a new resource (and scope) entry wherever the span's origin changes
 * — the shape Jaeger answers with, where a trace keeps one entry per export that brought it spans.
 */
export function toResourceSpans(spans: FlatSpan[]): unknown[] {
  const out: Array<{
    resource: Record<string, unknown>;
    scopeSpans: Array<{ scope: object; spans: unknown[]; schemaUrl?: string }>;
    schemaUrl?: string;
  }> = [];
  for (const trace of Map.groupBy(spans, (span) => span.traceId).values()) {
    let lastResource: string | undefined;
    let lastScope: string | undefined;
    for (const span of trace) {
      const { resource, scope } = originOf(span);
      const resourceKey = JSON.stringify(resource);
      const scopeKey = JSON.stringify(scope);
      if (resourceKey !== lastResource) {
        out.push({
          resource: {
            ...(resource.attributes.length ? { attributes: resource.attributes } : {}),
            ...(resource.droppedAttributesCount ? { droppedAttributesCount: resource.droppedAttributesCount } : {}),
          },
          scopeSpans: [],
          ...(resource.schemaUrl ? { schemaUrl: resource.schemaUrl } : {}),
        });
        lastResource = resourceKey;
        lastScope = undefined;
      }
      const entry = out.at(-1)!;
      if (scopeKey !== lastScope) {
        const { schemaUrl, ...scopeFields } = scope;
        entry.scopeSpans.push({ scope: scopeFields, spans: [], ...(schemaUrl ? { schemaUrl } : {}) });
        lastScope = scopeKey;
      }
      entry.scopeSpans.at(-1)!.spans.push(otlpSpan(span));
    }
  }
  return out;
}
