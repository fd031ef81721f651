import type { ServerResponse } from 'node:http';
import { formatTraceTree } from '../traces/otlp.ts';
import { escapeHtml } from '../traces/html.ts';
import type { TraceStore } from './store.ts';

function page(title: string, body: string) {
  return `<!doctype html><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>body{font:14px system-ui;margin:2em}pre{font:13px ui-monospace,monospace}td{padding:2px 12px 2px 0}</style><h1>${escapeHtml(title)}</h1>${body}`;
}

/** The store's HTML pages: the trace list and one trace; false when `url` is not one of them. */
export function answerPage(store: TraceStore, url: URL, response: ServerResponse): boolean {
  const path = url.pathname;
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
    return (response.end(page('ITuna traces (newest first)', `<p>${store.spanCount} spans kept. JSON: <a href="/api/v3/services">/api/v3/services</a></p><table>${rows}</table>`)), true);
  }
  const tree = /^\/trace\/([0-9a-f]{32})$/.exec(path);
  if (tree) {
    const spans = store.trace(tree[1]!);
    response.writeHead(spans.length ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' });
    return (response.end(page(`Trace ${tree[1]}`, `<pre>${escapeHtml(formatTraceTree(spans))}</pre><p><a href="/api/v3/traces/${tree[1]}">as OTLP JSON</a> · <a href="/">all traces</a></p>`)), true);
  }
  return false;
}
