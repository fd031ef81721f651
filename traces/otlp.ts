/** Span kinds by their OTLP numbers. */
export const SPAN_KINDS = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'] as const;

export type AttributeValue = string | number | boolean | Array<string | number | boolean>;

/** One span as the project's tools read it: ids in hex, times in (fractional) milliseconds, plain attributes. */
export interface FlatSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: (typeof SPAN_KINDS)[number];
  service: string;
  startMs: number;
  endMs: number;
  durationMs: number;
  attributes: Record<string, AttributeValue>;
  status: { code: 'unset' | 'ok' | 'error'; message?: string };
  events: Array<{ name: string; timeMs: number; attributes: Record<string, AttributeValue> }>;
  links: Array<{ traceId: string; spanId: string }>;
}

type AnyValue = { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean; arrayValue?: { values?: AnyValue[] } };
type KeyValue = { key: string; value?: AnyValue };

function valueOf(value: AnyValue | undefined): AttributeValue {
  if (!value) return '';
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.arrayValue) return (value.arrayValue.values ?? []).map((v) => valueOf(v) as string | number | boolean);
  return '';
}

// A loop rather than Object.fromEntries over mapped pairs: it runs for every span the trace store takes.
function attributesOf(list: KeyValue[] | undefined): Record<string, AttributeValue> {
  const attributes: Record<string, AttributeValue> = {};
  for (const { key, value } of list ?? []) {
    // Assigning "__proto__" would set the prototype instead of an attribute.
    if (key === '__proto__') Object.defineProperty(attributes, key, { value: valueOf(value), enumerable: true, writable: true, configurable: true });
    else attributes[key] = valueOf(value);
  }
  return attributes;
}

// Unix nanoseconds arrive as decimal strings beyond 2^53; keep microsecond precision.
const nanosToMs = (nanos: string | number | undefined) => Number(BigInt(nanos ?? 0) / 1000n) / 1000;

/** Decodes an OTLP/HTTP JSON ExportTraceServiceRequest into flat spans. */
export function flattenResourceSpans(body: unknown): FlatSpan[] {
  const resourceSpans = (body as { resourceSpans?: unknown })?.resourceSpans;
  if (!Array.isArray(resourceSpans)) throw new Error('not an OTLP trace export: no resourceSpans array');
  const spans: FlatSpan[] = [];
  for (const resourceSpan of resourceSpans) {
    const service = String(attributesOf(resourceSpan.resource?.attributes)['service.name'] ?? 'unknown_service');
    for (const scopeSpan of resourceSpan.scopeSpans ?? []) {
      for (const span of scopeSpan.spans ?? []) {
        const startMs = nanosToMs(span.startTimeUnixNano);
        const endMs = nanosToMs(span.endTimeUnixNano);
        spans.push({
          traceId: span.traceId,
          spanId: span.spanId,
          parentSpanId: span.parentSpanId || undefined,
          name: span.name,
          kind: SPAN_KINDS[span.kind ?? 0] ?? 'unspecified',
          service,
          startMs,
          endMs,
          durationMs: endMs - startMs,
          attributes: attributesOf(span.attributes),
          status: { code: (['unset', 'ok', 'error'] as const)[span.status?.code ?? 0] ?? 'unset', message: span.status?.message || undefined },
          events: (span.events ?? []).map((e: { name: string; timeUnixNano?: string; attributes?: KeyValue[] }) => ({
            name: e.name,
            timeMs: nanosToMs(e.timeUnixNano),
            attributes: attributesOf(e.attributes),
          })),
          links: (span.links ?? []).map((l: { traceId: string; spanId: string }) => ({ traceId: l.traceId, spanId: l.spanId })),
        });
      }
    }
  }
  return spans;
}

/** One trace as an indented tree, children in start order, with service, kind and duration on each line. */
export function formatTraceTree(spans: FlatSpan[]): string {
  const ids = new Set(spans.map((s) => s.spanId));
  const children = new Map<string | undefined, FlatSpan[]>();
  for (const span of spans) {
    const parent = span.parentSpanId && ids.has(span.parentSpanId) ? span.parentSpanId : undefined;
    children.set(parent, [...(children.get(parent) ?? []), span]);
  }
  for (const list of children.values()) list.sort((a, b) => a.startMs - b.startMs);
  const lines: string[] = [];
  const walk = (span: FlatSpan, prefix: string, connector: string) => {
    const kind = span.kind === 'internal' ? '' : ` ${span.kind.toUpperCase()}`;
    lines.push(`${prefix}${connector}${span.name}  [${span.service}]${kind} ${span.durationMs.toFixed(1)} ms`);
    const list = children.get(span.spanId) ?? [];
    const childPrefix = prefix + (connector === '├─ ' ? '│  ' : connector === '└─ ' ? '   ' : '');
    list.forEach((child, i) => walk(child, childPrefix, i === list.length - 1 ? '└─ ' : '├─ '));
  };
  for (const root of children.get(undefined) ?? []) walk(root, '', '');
  return lines.join('\n');
}

function anyValueOf(value: AttributeValue): AnyValue {
  if (Array.isArray(value)) return { arrayValue: { values: value.map(anyValueOf) } };
  if (typeof value === 'boolean') return { boolValue: value };
  if (typeof value === 'number') return Number.isInteger(value) ? { intValue: String(value) } : { doubleValue: value };
  return { stringValue: value };
}

const keyValues = (attributes: Record<string, AttributeValue>): KeyValue[] =>
  Object.entries(attributes).map(([key, value]) => ({ key, value: anyValueOf(value) }));

const msToNanos = (ms: number) => (BigInt(Math.round(ms * 1000)) * 1000n).toString();

/** Encodes flat spans back into OTLP JSON `resourceSpans`, one resource per service (the inverse of flattenResourceSpans). */
export function toResourceSpans(spans: FlatSpan[]): unknown[] {
  const byService = Map.groupBy(spans, (span) => span.service);
  return [...byService].map(([service, list]) => ({
    resource: { attributes: keyValues({ 'service.name': service }) },
    scopeSpans: [
      {
        scope: { name: 'ituna' },
        spans: list.map((span) => ({
          traceId: span.traceId,
          spanId: span.spanId,
          parentSpanId: span.parentSpanId ?? '',
          name: span.name,
          kind: SPAN_KINDS.indexOf(span.kind),
          startTimeUnixNano: msToNanos(span.startMs),
          endTimeUnixNano: msToNanos(span.endMs),
          attributes: keyValues(span.attributes),
          status: { code: ['unset', 'ok', 'error'].indexOf(span.status.code), message: span.status.message ?? '' },
          events: span.events.map((e) => ({ name: e.name, timeUnixNano: msToNanos(e.timeMs), attributes: keyValues(e.attributes) })),
          links: span.links,
        })),
      },
    ],
  }));
}
