import type { AnyValue, FlatSpan, KeyValue } from '../traces/otlp.ts';
import { goParseBool } from './go-formats.ts';
import { asString, attributeValue } from './jaeger-view.ts';

/** What a trace search may ask for; a trace matches when one of its spans matches all of it, as in Jaeger. */
export interface TraceQuery {
  service?: string;
  operation?: string;
  /** Bounds on a span's start, unix nanoseconds, inclusive. */
  startMin?: bigint;
  startMax?: bigint;
  /** Bounds on a span's duration, nanoseconds, inclusive; 0 means none (Jaeger's rule). */
  durationMin?: bigint;
  durationMax?: bigint;
  /** Attribute → value as text, Jaeger's `query.attributes`; see search.ts for the keys with a special meaning. */
  attributes?: Record<string, string>;
  /** At most this many traces (Jaeger's search depth). */
  limit?: number;
}

/** A span's service as Jaeger indexes it: the resource's `service.name`, '' when the resource has none. */
export function serviceOf(span: FlatSpan): string {
  const resource = span.otlp?.resource;
  if (!resource) return span.service;
  return resource.attributes.find((kv) => kv.key === 'service.name')?.value?.stringValue ?? '';
}

const nanos = (value: string | undefined, ms: number) =>
  value ? BigInt(value) : BigInt(Math.round(ms * 1000)) * 1000n;
const SPAN_KIND_NAMES: Record<string, FlatSpan['kind']> = {
  CLIENT: 'client',
  SERVER: 'server',
  PRODUCER: 'producer',
  CONSUMER: 'consumer',
  INTERNAL: 'internal',
};
const STATUS_NAMES: Record<string, FlatSpan['status']['code']> = { OK: 'ok', ERROR: 'error' };

function find(list: KeyValue[] | undefined, key: string): AnyValue | undefined {
  const found = list?.find((kv) => kv.key === key);
  return found && (found.value ?? {});
}
const matches = (value: AnyValue | undefined, wanted: string) => value !== undefined && asString(value) === wanted;

// Jaeger 2.19+ (memory store): `error` is a boolean on the span's status, `span.status`, `span.kind`, `scope.name`,
// `scope.version` and `resource.<key>` name those fields; any other key matches the span's, its scope's or its
// resource's attributes, or those of one of its events or links.
function attributeMatches(span: FlatSpan, key: string, wanted: string): boolean {
  const otlp = span.otlp ?? {};
  switch (key) {
    case 'error': {
      const parsed = goParseBool(wanted);
      return parsed.ok && span.status.code === (parsed.value ? 'error' : 'ok');
    }
    case 'span.status':
      return span.status.code === (STATUS_NAMES[wanted.toUpperCase()] ?? 'unset');
    case 'span.kind':
      return span.kind === (SPAN_KIND_NAMES[wanted.toUpperCase()] ?? 'unspecified');
    case 'scope.name':
      return (otlp.scope?.name ?? '') === wanted;
    case 'scope.version':
      return (otlp.scope?.version ?? '') === wanted;
  }
  if (key.startsWith('resource.'))
    return matches(find(otlp.resource?.attributes, key.slice('resource.'.length)), wanted);
  return (
    matches(attributeValue(span.attributes, otlp.typed, key), wanted) ||
    matches(find(otlp.scope?.attributes, key), wanted) ||
    matches(find(otlp.resource?.attributes, key), wanted) ||
    span.events.some((e) => matches(attributeValue(e.attributes, e.typed, key), wanted)) ||
    span.links.some((l) => matches(attributeValue(l.attributes ?? {}, l.typed, key), wanted))
  );
}

/** Whether one span satisfies every part of `query`, by Jaeger's rules. */
export function spanMatches(span: FlatSpan, query: TraceQuery): boolean {
  if (query.service && serviceOf(span) !== query.service) return false;
  if (query.operation && span.name !== query.operation) return false;
  const start = nanos(span.startTimeUnixNano, span.startMs);
  if (query.startMin !== undefined && start < query.startMin) return false;
  if (query.startMax !== undefined && start > query.startMax) return false;
  const duration = nanos(span.endTimeUnixNano, span.endMs) - start;
  if (query.durationMin && duration < query.durationMin) return false;
  if (query.durationMax && duration > query.durationMax) return false;
  return Object.entries(query.attributes ?? {}).every(([key, wanted]) => attributeMatches(span, key, wanted));
}
