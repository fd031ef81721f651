import type { ServerResponse } from 'node:http';
import { createTraceIndex } from '../summaries.ts';
import type { TraceStore } from '../store.ts';
import { listQueryOf, PAGE_SIZE, renderListPage } from './list.ts';
import { PAGE_SCRIPTS } from './assets.ts';
import { analyzeTraces } from '../../traces/run-analysis.ts';
import { serviceMap } from '../../traces/service-map.ts';
import { renderComparePage } from './compare.ts';
import { renderMapPage } from './map.ts';
import { renderMonitorPage } from './monitor.ts';
import { renderTracePage } from './trace.ts';

const indexes = new WeakMap<TraceStore, ReturnType<typeof createTraceIndex>>();

const indexOf = (store: TraceStore) => {
  let index = indexes.get(store);
  if (!index) {
    index = createTraceIndex(store);
    indexes.set(store, index);
  }
  return index;
};

const html = (response: ServerResponse, status: number, body: string) => {
  // The pages carry their own inline style and known scripts and load nothing: say so, so nothing else can run there.
  response.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': `default-src 'none'; style-src 'unsafe-inline'; script-src ${PAGE_SCRIPTS.map((s) => `'${s.hash}'`).join(' ')}; connect-src 'self'; img-src data:; form-action 'self'; base-uri 'none'`,
  });
  response.end(body);
  return true;
};

/** The store's HTML pages: the trace list (search) and one trace (waterfall); false when `url` is not one of them. */
export function answerPage(
  store: TraceStore,
  url: URL,
  response: ServerResponse,
  { monitor = false }: { monitor?: boolean } = {},
): boolean {
  const path = url.pathname;
  if (path === '/monitor')
    return html(response, 200, renderMonitorPage(url.searchParams.get('run')?.trim() ?? '', monitor));
  if (path === '/map') {
    // The map of the traces the list's run and time filters match (all kept traces without them).
    const query = listQueryOf(url);
    const { matches } = indexOf(store).search(query.filter, { limit: 0 });
    const traces = matches.map((m) => store.trace(m.traceId)).filter((spans) => spans.length > 0);
    const bottleneck = traces.length > 0 ? analyzeTraces(traces).bottleneck?.station : undefined;
    return html(response, 200, renderMapPage(serviceMap(traces, { bottleneck }), query, traces.length));
  }
  if (path === '/') {
    const index = indexOf(store);
    const query = listQueryOf(url);
    const result = index.search(query.filter, { offset: (query.page - 1) * PAGE_SIZE, limit: PAGE_SIZE });
    return html(response, 200, renderListPage(result, query, result, { spans: store.spanCount }));
  }
  if (path === '/compare') {
    const ids = { a: url.searchParams.get('a')?.trim(), b: url.searchParams.get('b')?.trim() };
    const page = renderComparePage(ids, (traceId) => store.trace(traceId));
    return html(response, page.status, page.html);
  }
  const trace = /^\/trace\/([0-9a-f]{32})$/i.exec(path);
  if (trace) {
    const traceId = trace[1]!.toLowerCase();
    const spans = store.trace(traceId);
    return html(response, spans.length ? 200 : 404, renderTracePage(traceId, spans, store.linked(traceId)));
  }
  return false;
}
