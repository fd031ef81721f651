import type { ServerResponse } from 'node:http';
import { toResourceSpans } from '../traces/otlp.ts';
import type { FlatSpan } from '../traces/otlp.ts';
import { goAtoi, goParseBool, goParseDuration, goParseTime, goTraceIdFromString } from './go-formats.ts';
import type { GoParsed } from './go-formats.ts';
import { json } from './http.ts';
import { jaegerView } from './jaeger-view.ts';
import type { TraceQuery, TraceStore } from './store.ts';

// Jaeger v2's api/v3 HTTP gateway, as the store answers it: the same routes, parameters, status codes, error bodies
// and messages. Where Jaeger 2.13 (the one `npm run jaeger` builds) and later 2.x differ, the store takes the later
// one's additions (query.attributes, query.search_depth and the camelCase names, a default search depth of 100) and
// 2.13's answers otherwise.

const DEFAULT_SEARCH_DEPTH = 100;

/** A failed api/v3 question: Jaeger's HTTP status and message. */
class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

const malformed = (name: string, parsed: GoParsed<unknown>) =>
  new ApiError(400, `malformed parameter ${name}: ${(parsed as { error: string }).error}`);

/** The value of the first of `names` that is set, with the name it was given under. */
function param(url: URL, ...names: string[]): [value: string, name: string] {
  for (const name of names) {
    const value = url.searchParams.get(name);
    if (value) return [value, name];
  }
  return ['', names.at(-1)!];
}

function parsed<T>(url: URL, parse: (text: string) => GoParsed<T>, ...names: string[]): T | undefined {
  const [text, name] = param(url, ...names);
  if (!text) return undefined;
  const result = parse(text);
  if (!result.ok) throw malformed(name, result);
  return result.value;
}

// Go's encoding/json into map[string]string: an object of strings (null leaves a key empty), or null.
function parseAttributes(text: string): GoParsed<Record<string, string>> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    const bad = /[^\s]/.exec(text);
    return {
      ok: false,
      error: bad ? `invalid character '${bad[0]}' looking for beginning of value` : 'unexpected end of JSON input',
    };
  }
  const goType = (v: unknown) => (Array.isArray(v) ? 'array' : typeof v === 'boolean' ? 'bool' : typeof v);
  if (value === null) return { ok: true, value: {} };
  if (typeof value !== 'object' || Array.isArray(value))
    return { ok: false, error: `json: cannot unmarshal ${goType(value)} into Go value of type map[string]string` };
  const attributes: Record<string, string> = {};
  for (const [key, v] of Object.entries(value)) {
    if (v !== null && typeof v !== 'string')
      return { ok: false, error: `json: cannot unmarshal ${goType(v)} into Go value of type string` };
    attributes[key] = v ?? '';
  }
  return { ok: true, value: attributes };
}

/** The trace search of `GET /api/v3/traces`, checked in Jaeger's order. */
function findQuery(url: URL): { query: TraceQuery; raw: boolean } {
  const attributes = parsed(url, parseAttributes, 'query.attributes');
  const [timeMin, timeMinName] = param(url, 'query.startTimeMin', 'query.start_time_min');
  const [timeMax, timeMaxName] = param(url, 'query.startTimeMax', 'query.start_time_max');
  if (!timeMin || !timeMax) throw new ApiError(400, 'query.start_time_min and query.start_time_max are required');
  const startMin = goParseTime(timeMin);
  if (!startMin.ok) throw malformed(timeMinName, startMin);
  const startMax = goParseTime(timeMax);
  if (!startMax.ok) throw malformed(timeMaxName, startMax);
  const limit =
    parsed(url, goAtoi, 'query.searchDepth', 'query.search_depth', 'query.num_traces') ?? DEFAULT_SEARCH_DEPTH;
  const durationMin = parsed(url, goParseDuration, 'query.durationMin', 'query.duration_min');
  const durationMax = parsed(url, goParseDuration, 'query.durationMax', 'query.duration_max');
  const raw = parsed(url, goParseBool, 'query.rawTraces', 'query.raw_traces') ?? false;
  // Jaeger's memory store refuses a depth it cannot search, with a 500.
  if (limit <= 0) throw new ApiError(500, 'search depth must be greater than 0 and less than max traces');
  const query: TraceQuery = {
    service: param(url, 'query.serviceName', 'query.service_name')[0] || undefined,
    operation: param(url, 'query.operationName', 'query.operation_name')[0] || undefined,
    startMin: startMin.value,
    startMax: startMax.value,
    durationMin,
    durationMax,
    attributes,
    limit,
  };
  return { query, raw };
}

/** Jaeger's answer with traces: every trace's resources in one `result`, or 404 when there are none. */
function tracesAnswer(traces: FlatSpan[][], raw: boolean): [number, unknown] {
  const shown = traces.map((spans) => (raw ? spans : jaegerView(spans))).filter((spans) => spans.length > 0);
  if (shown.length === 0) throw new ApiError(404, 'No traces found');
  return [200, { result: { resourceSpans: toResourceSpans(shown.flat()) } }];
}

const decodedPath = (segment: string) => {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
};

function answer(store: TraceStore, url: URL): [number, unknown] | undefined {
  const path = url.pathname;
  if (path === '/api/v3/services') {
    const services = store.services();
    // Jaeger's JSON encoder leaves an empty list out.
    return [200, services.length ? { services } : {}];
  }
  if (path === '/api/v3/operations') {
    const service = url.searchParams.get('service') ?? '';
    const [spanKind] = param(url, 'spanKind', 'span_kind');
    const operations = store
      .operations(service, spanKind)
      .map(({ name, spanKind: kind }) => (kind ? { name, spanKind: kind } : { name }));
    return [200, { operations }];
  }
  if (path === '/api/v3/traces') {
    const { query, raw } = findQuery(url);
    return tracesAnswer(store.find(query), raw);
  }
  const byId = /^\/api\/v3\/traces\/([^/]+)$/.exec(path);
  if (byId) {
    const traceId = goTraceIdFromString(decodedPath(byId[1]!));
    if (!traceId.ok) throw malformed('trace_id', traceId);
    // The memory store ignores the time bounds, but Jaeger checks them.
    parsed(url, goParseTime, 'startTime', 'start_time');
    parsed(url, goParseTime, 'endTime', 'end_time');
    const raw = parsed(url, goParseBool, 'rawTraces', 'raw_traces') ?? false;
    return tracesAnswer([store.trace(traceId.value)], raw);
  }
  return undefined;
}

/** Answers Jaeger's api/v3 questions (trace by id, trace search, services, operations); false when `url` is not one. */
export function answerApi(store: TraceStore, url: URL, response: ServerResponse): boolean {
  try {
    const answered = answer(store, url);
    if (!answered) return false;
    json(response, ...answered);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    json(response, error.status, { error: { httpCode: error.status, message: error.message } });
  }
  return true;
}
