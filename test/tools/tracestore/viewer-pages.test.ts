import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FlatSpan } from '../../../tools/traces/otlp.ts';
import { openTraceStore } from '../../../tools/tracestore/store.ts';
import type { TraceStore } from '../../../tools/tracestore/store.ts';
import { startTraceStoreServer } from '../../../tools/tracestore/server.ts';
import type { TraceStoreServer } from '../../../tools/tracestore/server.ts';
import { summarize } from '../../../tools/tracestore/summaries.ts';
import { bigTrace, orderTrace } from '../../../tools/traces/synthetic-orders.ts';

// The store's pages over HTTP, without a browser: the search over 10,000+ traces, paging, and escaping.
let store: TraceStore;
let server: TraceStoreServer;
let big: FlatSpan[];
let hostile: FlatSpan[];
const ORDERS = 10_500;

async function get(path: string): Promise<{ status: number; html: string; ms: number; csp: string | null }> {
  const started = performance.now();
  const response = await fetch(`${server.queryUrl}${path}`);
  const html = await response.text();
  return {
    status: response.status,
    html,
    ms: performance.now() - started,
    csp: response.headers.get('content-security-policy'),
  };
}

const totalOf = (html: string) => Number(/of (\d+) traces/.exec(html)?.[1]);

describe('the trace store pages', () => {
  before(async () => {
    store = await openTraceStore({ maxSpans: 1_000_000 });
    const t0 = Date.now() - 3_600_000;
    for (let i = 0; i < ORDERS; i++) {
      const spans = orderTrace({
        startMs: t0 + i * 100,
        runId: i < 500 ? 'run-a' : 'run-b',
        kitchenWaitMs: i % 100 === 0 ? 1500 : 20,
      });
      if (i % 1000 === 7) spans[3]!.status = { code: 'error', message: 'broken' };
      store.add(spans);
    }
    big = bigTrace(1000);
    store.add(big);
    hostile = orderTrace({ runId: 'run-<hostile>' });
    hostile[0]!.name = '<img src=x onerror="globalThis.pwned=1">';
    hostile[0]!.service = '<script>globalThis.pwned=2</script>';
    hostile[1]!.attributes['<b>key</b>'] = '</script><script>globalThis.pwned=3</script>';
    hostile[1]!.events.push({
      name: '<svg onload=alert(4)>',
      timeMs: hostile[1]!.startMs,
      attributes: { '<i>': '<u>' },
    });
    hostile[1]!.status = { code: 'error', message: '<iframe src=javascript:alert(5)>' };
    store.add(hostile);
    server = await startTraceStoreServer(store, { otlpPort: 0, queryPort: 0 });
  });
  after(() => server?.close());

  it('When 10,000+ traces are kept, then the list shows the newest 50 with root operation, services, duration, spans, error mark and start (time printed)', async (t) => {
    const first = await get('/');
    const again = await get('/');
    t.diagnostic(
      `list of ${ORDERS + 2} traces: first ${first.ms.toFixed(0)} ms, again ${again.ms.toFixed(0)} ms, ${(first.html.length / 1024).toFixed(0)} KiB`,
    );
    assert.equal(first.status, 200);
    assert.equal(totalOf(first.html), ORDERS + 2);
    assert.equal((first.html.match(/<tr><td data-label="root">/g) ?? []).length, 50);
    assert.ok(first.html.indexOf(hostile[0]!.traceId) < first.html.indexOf(big[0]!.traceId), 'newest first');
    assert.match(first.html, /POST \/orders\/online<\/a>/);
    assert.match(first.html, /ituna-order-validation/);
    assert.match(first.html, />1000<\/td>/);
    assert.match(first.html, /rel="next" href="\/\?page=2"/);
  });

  it('When the list is filtered, then service, operation, order id, run id, minimum duration and errors narrow it, and pages go on', async () => {
    const orderId = String(store.find({ limit: 3 })[2]![0]!.attributes['ituna.order.id']);
    assert.equal(totalOf((await get('/?run=run-a')).html), 500);
    assert.equal(totalOf((await get(`/?order=${orderId}`)).html), 1);
    assert.equal(totalOf((await get('/?errors=1')).html), 11 + 1);
    assert.equal(totalOf((await get('/?minDuration=1.5s')).html), ORDERS / 100);
    assert.equal(totalOf((await get('/?minDuration=1500ms&run=run-a')).html), 5);
    assert.equal(totalOf((await get('/?operation=step+500')).html), 1);
    assert.equal(totalOf((await get('/?service=ituna-kitchen&run=run-b')).html), ORDERS - 500);
    const bad = await get('/?minDuration=soon');
    assert.match(bad.html, /minimum duration &quot;soon&quot; is not a duration/);
    const page2 = await get('/?run=run-b&page=2');
    assert.match(page2.html, /51–100 of 10000 traces \(page 2 of 200\)/);
    assert.match(page2.html, /rel="prev" href="\/\?run=run-b"/);
    assert.match(page2.html, /rel="next" href="\/\?run=run-b&amp;page=3"/);
    const last = await get('/?run=run-b&page=200');
    assert.doesNotMatch(last.html, /rel="next"/);
  });

  it('When a child span starts before its root (clock skew), then the root is still the span without a parent', () => {
    const spans = orderTrace({ startMs: 1000 });
    const child = spans.find((s) => s.name === 'request')!;
    child.startMs = 900;
    const summary = summarize(spans);
    assert.equal(summary.rootName, 'POST /orders/online');
    assert.equal(summary.startMs, 1000);
    assert.equal(summary.durationMs, Math.max(...spans.map((s) => s.endMs)) - 1000);
  });

  it('When a 1000-span trace is asked for, then one page draws every span (time printed)', async (t) => {
    const page = await get(`/trace/${big[0]!.traceId}`);
    t.diagnostic(`trace page of 1000 spans: ${page.ms.toFixed(0)} ms, ${(page.html.length / 1024).toFixed(0)} KiB`);
    assert.equal(page.status, 200);
    assert.equal((page.html.match(/<div class="bar" /g) ?? []).length, 1000);
    assert.doesNotMatch(page.html, /(src|href)="https?:/, 'loads nothing from anywhere');
    assert.equal((await get(`/trace/${'0'.repeat(32)}`)).status, 404);
  });

  it('When spans hold markup in names, services, attributes, events and status, then the pages escape all of it and allow only their own script', async () => {
    for (const path of [
      '/',
      `/trace/${hostile[0]!.traceId}`,
      '/?run=run-%3Chostile%3E',
      '/?order=%22%3E%3Cscript%3E',
    ]) {
      const { html, csp } = await get(path);
      assert.doesNotMatch(html, /<img|<svg|<iframe|<b>|<i>|<u>|<script>globalThis/, path);
      assert.equal(
        (html.match(/<script>/g) ?? []).length,
        path.startsWith('/trace/') ? 1 : 0,
        `${path}: only the page's own script`,
      );
      assert.match(csp ?? '', /default-src 'none'; .*script-src 'sha256-[A-Za-z0-9+/=]+'/);
    }
    const { html } = await get(`/trace/${hostile[0]!.traceId}`);
    assert.ok(html.includes('&lt;img src=x onerror=&quot;globalThis.pwned=1&quot;&gt;'));
    assert.ok(
      html.includes('\\u003c/script\\u003e\\u003cscript\\u003eglobalThis.pwned=3\\u003c/script\\u003e'),
      'the span data cannot close its script element',
    );
  });
});
