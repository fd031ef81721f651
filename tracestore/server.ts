import { once } from 'node:events';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { flattenResourceSpans, formatTraceTree, toResourceSpans } from '../common/otlp.ts';
import type { TraceStore } from './store.ts';

/** The embedded trace store's two listeners, on Jaeger's ports so every tool works the same against both. */
export interface TraceStoreServer {
  otlpUrl: string;
  queryUrl: string;
  close(): Promise<void>;
}

const MAX_EXPORT_BYTES = 16 * 1024 * 1024;

function json(response: ServerResponse, status: number, body: unknown) {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

async function readBody(request: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_EXPORT_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** OTLP/HTTP receiver (JSON): POST /v1/traces. */
function otlpHandler(store: TraceStore) {
  return async (request: IncomingMessage, response: ServerResponse) => {
    if (request.method !== 'POST' || request.url?.split('?')[0] !== '/v1/traces') return json(response, 404, { error: 'POST /v1/traces only' });
    if (!request.headers['content-type']?.startsWith('application/json')) {
      return json(response, 415, { error: 'only OTLP/HTTP JSON is accepted (OTEL_EXPORTER_OTLP_PROTOCOL=http/json)' });
    }
    const body = await readBody(request);
    if (!body) return json(response, 413, { error: `an export may be at most ${MAX_EXPORT_BYTES} bytes` });
    try {
      store.add(flattenResourceSpans(JSON.parse(body.toString('utf8'))));
      json(response, 200, {});
    } catch (error) {
      json(response, 400, { error: (error as Error).message });
    }
  };
}

const escapeHtml = (text: string) => text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

function page(title: string, body: string) {
  return `<!doctype html><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>body{font:14px system-ui;margin:2em}pre{font:13px ui-monospace,monospace}td{padding:2px 12px 2px 0}</style><h1>${escapeHtml(title)}</h1>${body}`;
}

/** Jaeger's api/v3 subset (traces by id, trace search, services, operations) and two small HTML pages. */
function queryHandler(store: TraceStore) {
  return (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://store');
    const path = url.pathname;
    if (request.method !== 'GET') return json(response, 405, { error: { message: 'GET only' } });

    if (path === '/api/v3/services') return json(response, 200, { services: store.services() });
    const operations = /^\/api\/v3\/services\/([^/]+)\/operations$/.exec(path);
    if (operations) return json(response, 200, { operations: store.operations(decodeURIComponent(operations[1]!)) });
    const byId = /^\/api\/v3\/traces\/([0-9a-f]{32})$/i.exec(path);
    if (byId) {
      const spans = store.trace(byId[1]!.toLowerCase());
      if (spans.length === 0) return json(response, 404, { error: { code: 404, message: 'trace not found' } });
      return json(response, 200, { result: { resourceSpans: toResourceSpans(spans) } });
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
      if (traces.length === 0) return json(response, 404, { error: { code: 404, message: 'no traces found' } });
      return json(response, 200, { result: { resourceSpans: toResourceSpans(traces.flat()) } });
    }

    if (path === '/') {
      const rows = store
        .find({ limit: 100 })
        .map((spans) => {
          const root = spans.reduce((a, b) => (a.startMs <= b.startMs ? a : b));
          const end = Math.max(...spans.map((s) => s.endMs));
          return `<tr><td><a href="/trace/${root.traceId}">${root.traceId}</a></td><td>${escapeHtml(root.name)}</td><td>${escapeHtml(root.service)}</td><td>${spans.length} spans</td><td>${(end - root.startMs).toFixed(1)} ms</td><td>${new Date(root.startMs).toISOString()}</td></tr>`;
        })
        .join('');
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      return response.end(page('ITuna traces (newest first)', `<p>${store.spanCount} spans kept. JSON: <a href="/api/v3/services">/api/v3/services</a></p><table>${rows}</table>`));
    }
    const tree = /^\/trace\/([0-9a-f]{32})$/.exec(path);
    if (tree) {
      const spans = store.trace(tree[1]!);
      response.writeHead(spans.length ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' });
      return response.end(page(`Trace ${tree[1]}`, `<pre>${escapeHtml(formatTraceTree(spans))}</pre><p><a href="/api/v3/traces/${tree[1]}">as OTLP JSON</a> · <a href="/">all traces</a></p>`));
    }
    json(response, 404, { error: { code: 404, message: `no route ${path}` } });
  };
}

/** Listens for OTLP on `otlpPort` and answers queries on `queryPort` (0 = free ports), on `host`. */
export async function startTraceStoreServer(
  store: TraceStore,
  { otlpPort = 4318, queryPort = 16686, host = '127.0.0.1' }: { otlpPort?: number; queryPort?: number; host?: string } = {},
): Promise<TraceStoreServer> {
  const otlp = createServer(otlpHandler(store));
  const query = createServer(queryHandler(store));
  otlp.listen(otlpPort, host);
  query.listen(queryPort, host);
  await Promise.all([once(otlp, 'listening'), once(query, 'listening')]);
  const url = (server: typeof otlp) => `http://${host}:${(server.address() as { port: number }).port}`;
  return {
    otlpUrl: url(otlp),
    queryUrl: url(query),
    async close() {
      for (const server of [otlp, query]) {
        server.closeAllConnections();
        server.close();
      }
      await store.flush();
    },
  };
}
