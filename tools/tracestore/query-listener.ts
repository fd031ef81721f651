import type { IncomingMessage, ServerResponse } from 'node:http';
import { answerApi } from './api.ts';
import { json } from './http.ts';
import { answerPage } from './pages/routes.ts';
import type { MonitorFeed } from './monitor-feed.ts';
import type { TraceStore } from './store.ts';

/** The query listener: Jaeger's api/v3 subset and the store's HTML pages. */
export function queryHandler(store: TraceStore, feed?: MonitorFeed) {
  return (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://store');
    if (request.method !== 'GET') return json(response, 405, { error: { message: 'GET only' } });
    if (url.pathname === '/monitor/events' && feed)
      return feed.stream(request, response, url.searchParams.get('run')?.trim() ?? '');
    if (answerApi(store, url, response) || answerPage(store, url, response, { monitor: feed !== undefined })) return;
    json(response, 404, { error: { code: 404, message: `no route ${url.pathname}` } });
  };
}
