import { canonicalValue, keyValues } from '../traces/otlp.ts';
import type { AnyValue, AttributeValue, FlatSpan, KeyValue, OtlpOrigin, TypedValues } from '../traces/otlp.ts';
import { goFormatDuration } from './go-formats.ts';

// Jaeger's query service passes every trace it answers through its standard adjusters (unless raw_traces=true):
// attributes and events sorted, duplicate spans dropped, clock-skew warnings, IPv4 ints as dotted strings, SDK
// attributes moved to the resource, empty links dropped. The store does the same to a copy of each trace, so both
// answer alike. Left out: the adjuster that renames server spans sharing an id with a client span, which Zipkin-style
// tracers do and OpenTelemetry SDKs never do.

/** The span attribute in which Jaeger lists what its adjusters noticed. */
export const WARNINGS_ATTRIBUTE = '@jaeger@warnings';

const byKey = <T extends { key: string }>(list: T[]) =>
  [...list].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
const sortedRecord = <T>(record: Record<string, T>) =>
  Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

function addWarning(span: FlatSpan, warning: string) {
  const current = span.attributes[WARNINGS_ATTRIBUTE];
  span.attributes[WARNINGS_ATTRIBUTE] = [...(Array.isArray(current) ? current : []), warning] as string[];
}

const nanos = (value: string | undefined, ms: number) =>
  value ? BigInt(value) : BigInt(Math.round(ms * 1000)) * 1000n;
const startOf = (span: FlatSpan) => nanos(span.startTimeUnixNano, span.startMs);
const endOf = (span: FlatSpan) => nanos(span.endTimeUnixNano, span.endMs);

/** A copy of `span` deep enough for the adjusters to change it. */
function copyOf(span: FlatSpan): FlatSpan {
  return {
    ...span,
    attributes: { ...span.attributes },
    events: span.events.map((e) => ({ ...e, attributes: { ...e.attributes } })),
    links: span.links.map((l) => ({ ...l, attributes: l.attributes && { ...l.attributes } })),
    otlp: span.otlp && { ...span.otlp },
  };
}

function hostKey(resource: KeyValue[] | undefined): string {
  const get = (key: string) => resource?.find((kv) => kv.key === key)?.value;
  const id = get('host.id');
  if (id) return id.stringValue ?? '';
  const ip = get('host.ip');
  if (ip) {
    if (ip.stringValue !== undefined) return ip.stringValue;
    const first = ip.arrayValue?.values?.[0];
    if (ip.arrayValue) return first ? asString(first) : '';
  }
  return get('host.name')?.stringValue ?? '';
}

/** pcommon.Value.AsString: how Jaeger compares attribute values to the strings of a query. */
export function asString(value: AnyValue): string {
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.intValue !== undefined) return String(value.intValue);
  if (value.doubleValue !== undefined) return String(Number(value.doubleValue));
  if (value.boolValue !== undefined) return String(value.boolValue);
  if (value.bytesValue !== undefined) return value.bytesValue;
  if (value.arrayValue || value.kvlistValue) return JSON.stringify(rawOf(value));
  return '';
}

function rawOf(value: AnyValue): unknown {
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return Number(value.doubleValue);
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.bytesValue !== undefined) return value.bytesValue;
  if (value.arrayValue) return (value.arrayValue.values ?? []).map(rawOf);
  if (value.kvlistValue)
    return Object.fromEntries(byKey(value.kvlistValue.values ?? []).map(({ key, value: v }) => [key, rawOf(v ?? {})]));
  return null;
}

/** A span's attribute as OTLP types it (the exact value when one was kept). */
export const attributeValue = (
  attributes: Record<string, AttributeValue>,
  typed: TypedValues | undefined,
  key: string,
): AnyValue | undefined =>
  key in attributes ? (typed?.[key] ?? keyValues({ [key]: attributes[key]! })[0]!.value) : undefined;

// Clock skew: with Jaeger's default max_clock_skew_adjust of 0 it adjusts nothing and warns where it would have.
function warnClockSkew(spans: FlatSpan[]) {
  type Node = { span: FlatSpan; host: string; children: Node[] };
  const nodes = new Map<string, Node>();
  for (const span of spans) {
    if (nodes.has(span.spanId)) addWarning(span, 'duplicate span IDs; skipping clock skew adjustment');
    else nodes.set(span.spanId, { span, host: hostKey(span.otlp?.resource?.attributes), children: [] });
  }
  const roots: Node[] = [];
  for (const node of nodes.values()) {
    const parentId = node.span.parentSpanId;
    if (!parentId || /^0*$/.test(parentId)) roots.push(node);
    else if (nodes.has(parentId)) nodes.get(parentId)!.children.push(node);
    else {
      addWarning(node.span, `parent span ID=${parentId} is not in the trace; skipping clock skew adjustment`);
      roots.push(node);
    }
  }
  const skewOf = (child: FlatSpan, parent: FlatSpan): bigint => {
    const [parentStart, parentEnd, childStart, childEnd] = [
      startOf(parent),
      endOf(parent),
      startOf(child),
      endOf(child),
    ];
    const parentDuration = parentEnd - parentStart;
    const childDuration = childEnd - childStart;
    if (childDuration > parentDuration) return childStart < parentStart ? parentStart - childStart : 0n;
    if (childStart >= parentStart && childEnd <= parentEnd) return 0n;
    return parentStart + (parentDuration - childDuration) / 2n - childStart;
  };
  const visit = (node: Node, parent: Node | undefined, skew: { host: string; delta: bigint }) => {
    if (parent && (node.host !== skew.host || node.host === ''))
      skew = { host: node.host, delta: skewOf(node.span, parent.span) };
    if (skew.delta !== 0n)
      addWarning(
        node.span,
        `clock skew adjustment disabled; not applying calculated delta of ${goFormatDuration(skew.delta)}`,
      );
    for (const child of node.children) visit(child, node, skew);
  };
  for (const root of roots) visit(root, undefined, { host: root.host, delta: 0n });
}

function dottedIp(value: AnyValue): string | undefined {
  const number =
    value.intValue !== undefined
      ? BigInt(value.intValue)
      : value.doubleValue !== undefined
        ? BigInt(Math.trunc(Number(value.doubleValue)))
        : undefined;
  if (number === undefined) return undefined;
  const ip = Number(BigInt.asUintN(32, number));
  return [24, 16, 8, 0].map((shift) => (ip >>> shift) & 255).join('.');
}

const IP_KEYS = ['ip', 'peer.ipv4'];
const LIBRARY_KEYS = [
  'telemetry.sdk.language',
  'telemetry.sdk.name',
  'telemetry.sdk.version',
  'telemetry.distro.name',
  'telemetry.distro.version',
];

/** One trace's spans as Jaeger's query service would answer them: adjusted copies, the stored spans untouched. */
export function jaegerView(trace: FlatSpan[]): FlatSpan[] {
  const origins = new Map<OtlpOrigin['resource'], OtlpOrigin['resource']>();
  const scopes = new Map<OtlpOrigin['scope'], OtlpOrigin['scope']>();
  const seen = new Set<string>();
  const spans: FlatSpan[] = [];
  const synthetic = new Map<string, OtlpOrigin['resource']>();
  for (const stored of trace) {
    const span = copyOf(stored);
    span.otlp ??= {};
    const otlp = span.otlp;
    // Spans stored before resources were kept get the one resource attribute known of them.
    if (!otlp.resource && !synthetic.has(span.service))
      synthetic.set(span.service, { attributes: keyValues({ 'service.name': span.service }) });
    otlp.resource ??= synthetic.get(span.service);
    // Sorted collections; the resource and scope objects stay shared by their spans.
    if (otlp.resource) {
      const resource = otlp.resource;
      if (!origins.has(resource)) origins.set(resource, { ...resource, attributes: byKey(resource.attributes) });
      otlp.resource = origins.get(resource);
    }
    if (otlp.scope) {
      const scope = otlp.scope;
      if (!scopes.has(scope))
        scopes.set(scope, scope.attributes ? { ...scope, attributes: byKey(scope.attributes) } : scope);
      otlp.scope = scopes.get(scope);
    }
    span.attributes = sortedRecord(span.attributes);
    span.events = [...span.events]
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((e) => ({ ...e, attributes: sortedRecord(e.attributes) }));
    span.links = span.links.map((l) => (l.attributes ? { ...l, attributes: sortedRecord(l.attributes) } : l));
    // Jaeger drops a span identical, resource and scope attributes included, to one it already has.
    const identity = JSON.stringify([
      otlp.resource?.attributes,
      otlp.scope?.attributes,
      { ...span, otlp: { ...otlp, resource: undefined, scope: undefined } },
    ]);
    if (seen.has(identity)) continue;
    seen.add(identity);
    spans.push(span);
  }
  warnClockSkew(spans);
  for (const span of spans) {
    const otlp = span.otlp!;
    for (const key of IP_KEYS) {
      const value = attributeValue(span.attributes, otlp.typed, key);
      const dotted = value && dottedIp(value);
      if (dotted) {
        span.attributes[key] = dotted;
        if (otlp.typed?.[key]) otlp.typed = { ...otlp.typed, [key]: { stringValue: dotted } };
      }
    }
    if (otlp.resource) {
      const ipKeys = otlp.resource.attributes.filter((kv) => IP_KEYS.includes(kv.key) && dottedIp(kv.value ?? {}));
      if (ipKeys.length) {
        otlp.resource = {
          ...otlp.resource,
          attributes: otlp.resource.attributes.map((kv) =>
            ipKeys.includes(kv) ? { key: kv.key, value: { stringValue: dottedIp(kv.value!)! } } : kv,
          ),
        };
      }
    }
    for (const key of LIBRARY_KEYS) {
      const value = attributeValue(span.attributes, otlp.typed, key);
      if (!value) continue;
      const resource = otlp.resource!;
      const existing = resource.attributes.find((kv) => kv.key === key);
      if (existing && JSON.stringify(rawOf(existing.value ?? {})) !== JSON.stringify(rawOf(value))) {
        addWarning(span, `conflicting values between Span and Resource for attribute ${key}`);
        continue;
      }
      // Every span of that resource sees the moved attribute, as in Jaeger, where they share one resource.
      const moved = {
        ...resource,
        attributes: existing ? resource.attributes : [...resource.attributes, { key, value: canonicalValue(value) }],
      };
      for (const other of spans)
        if (other !== span && other.otlp && other.otlp.resource === otlp.resource) other.otlp.resource = moved;
      otlp.resource = moved;
      delete span.attributes[key];
    }
    const links = span.links.filter((l) => !/^0*$/.test(l.traceId));
    for (let i = links.length; i < span.links.length; i++) addWarning(span, 'Invalid span link removed');
    span.links = links;
  }
  return spans;
}
