import type { ServerResponse } from 'node:http';
import { toResourceSpans } from '../traces/otlp.ts';
import { json } from './http.ts';
import type { TraceStore } from './store.ts';

/** Answers Jaeger's api/v3 questions (traces by id, trace search, services, operations); false when `url` is not one. */
export function answerApi(store: TraceStore, url: URL, response: ServerResponse): boolean {
  const path = url.pathname;
  const send = (status: number, body: unknown) => (json(response, status, body), true);
  if (path === '/api/v3/services') return send(200, { services: store.services() });
  const operations = /^\/api\/v3\/services\/([^/]+)\/operations$/.exec(path);
  if (operations) return send(200, { operations: store.operations(decodeURIComponent(operations[1]!)) });
  const byId = /^\/api\/v3\/traces\/([0-9a-f]{32})$/i.exec(path);
  if (byId) {
    const spans = store.trace(byId[1]!.toLowerCase());
    if (spans.length === 0) return send(404, { error: { code: 404, message: 'trace not found' } });
    return send(200, { result: { resourceSpans: toResourceSpans(spans) } });
  }
  if (path === '/api/v3/traces') {
    const param = (name: string) => url.searchParams.get(`query.${name}`) ?? undefined;
    const time = (name: string) => (param(name) ? Date.parse(param(name)!) : undefined);
    const limit = Number(param('search_depth') ?? param('num_traces') ?? 20);
    const traces = store.find({
      service: param('service_name'),
      operation: param('operation_name'),
      startMin: time('start_time_min'),
      startMax: time('start_time_max'),
      limit: Number.isFinite(limit) && limit > 0 ? limit : 20,
    });
    if (traces.length === 0) return send(404, { error: { code: 404, message: 'no traces found' } });
    return send(200, { result: { resourceSpans: toResourceSpans(traces.flat()) } });
  }
  return false;
}
