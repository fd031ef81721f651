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

  it('When a time span is given (as the scatter writes it, or typed), then only traces started in it are listed and dotted, and the page links keep it', async () => {
    const t0 = Math.min(
      ...store.find({ limit: Infinity, attributes: { 'ituna.run.id': 'run-a' } }).map((spans) => spans[0]!.startMs),
    );
    const dotsOf = (html: string) =>
      JSON.parse(/<script type="application\/json" id="dots">(.*?)<\/script>/s.exec(html)![1]!) as {
        t: number[];
        d: number[];
        e: number[];
        id: string[];
        services: string[];
        from?: number;
        to?: number;
      };
    // Orders start every 100 ms: [t0 + 10 s, t0 + 20 s] holds orders 100 to 200.
    const narrowed = await get(`/?from=${t0 + 10_000}&to=${t0 + 20_000}`);
    assert.equal(totalOf(narrowed.html), 101);
    const dots = dotsOf(narrowed.html);
    assert.equal(dots.t.length, 101);
    assert.deepEqual([dots.from, dots.to], [t0 + 10_000, t0 + 20_000]);
    assert.ok(dots.t.every((t) => t >= t0 + 10_000 && t <= t0 + 20_000));
    assert.deepEqual(dots.services, ['ituna-gateway']);
    // Orders 100 and 200 had the slow kitchen: the scatter shows them as the two high dots.
    assert.equal(dots.d.filter((d) => d > 1500).length, 2);
    const typed = await get(
      `/?from=${new Date(t0 + 10_000).toISOString().replace('Z', '')}&to=${new Date(t0 + 20_000).toISOString()}&run=run-a`,
    );
    assert.equal(totalOf(typed.html), 101);
    assert.match(typed.html, new RegExp(`value="${new Date(t0 + 10_000).toISOString()}"`));
    const errors = dotsOf((await get('/?errors=1')).html);
    assert.equal(errors.e.filter(Boolean).length, errors.t.length, 'every dot of an error search is marked');
    const unfiltered = dotsOf((await get('/')).html);
    assert.equal(unfiltered.t.length, totalOf((await get('/')).html), 'every match is a dot, not only the page');
    const bad = await get('/?from=yesterday');
    assert.match(bad.html, /&quot;from&quot; is not a time/);
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

  it('When two traces are compared, then /compare shows each stage of both, the difference, the stage that made it and both critical paths; a bad id gets 400 naming it', async () => {
    const traces = store.find({ limit: Infinity, attributes: { 'ituna.run.id': 'run-a' } });
    const slow =
      traces.find((spans) => spans.some((s) => s.durationMs >= 1500 && s.name === 'process kitchen.tickets')) ??
      traces.find((spans) => Math.max(...spans.map((s) => s.endMs)) - Math.min(...spans.map((s) => s.startMs)) > 1500)!;
    const quick = traces.find((t) => t !== slow)!;
    const [a, b] = [quick[0]!.traceId, slow[0]!.traceId];
    const page = await get(`/compare?a=${a}&b=${b}`);
    assert.equal(page.status, 200);
    assert.match(
      page.html,
      /B took 1\.\d\d s longer than A .*most of the difference is queue kitchen\.tickets \(kitchen\): \+1\.\d\d s/,
    );
    assert.match(
      page.html,
      /<tr class="decisive"[^>]*><td>queue kitchen\.tickets<\/td><td>kitchen<\/td><td class="num">20\.0 ms<\/td><td class="num">1\.50 s<\/td><td class="num">\+1\.48 s<\/td><\/tr>/,
    );
    for (const stage of ['queue orders.placed', 'validate inventory', 'prepare dish'])
      assert.match(page.html, new RegExp(`<td>${stage.replace('.', '\\.')}</td>`), stage);
    assert.equal((page.html.match(/<ol class="path">/g) ?? []).length, 2, 'both critical paths');
    assert.match(page.html, new RegExp(`href="/trace/${a}"`));
    const trace = await get(`/trace/${a}`);
    assert.match(
      trace.html,
      new RegExp(
        `<form class="compare-with" method="get" action="/compare"><input type="hidden" name="a" value="${a}">`,
      ),
    );
    const bad = await get(`/compare?a=${a}&b=nope`);
    assert.equal(bad.status, 400);
    assert.match(bad.html, /trace B: &quot;nope&quot; is not a trace id/);
    const missing = await get(`/compare?a=${a}&b=${'0'.repeat(32)}`);
    assert.match(missing.html, /trace B: no span of 0{32} is kept/);
    assert.equal((await get('/compare')).status, 200, 'the bare page asks for two ids');
  });

  it('When a message crosses Kafka, then its producer span links to the consumer spans (here or, by a span link, in another trace) and each consumer links back', async () => {
    const order = orderTrace({ runId: 'jumps' });
    const producer = order.find((s) => s.name === 'send orders.placed')!;
    const consumer = order.find((s) => s.name === 'process orders.placed')!;
    // A replay in a trace of its own, as from the dead-letter topic: its consumer span only links to the producer.
    const replay = orderTrace({ runId: 'jumps-replay' });
    const replayed = replay.find((s) => s.name === 'process orders.placed')!;
    replayed.links = [{ traceId: producer.traceId, spanId: producer.spanId, attributes: {} }];
    store.add(order);
    store.add(replay);
    const here = (await get(`/trace/${producer.traceId}`)).html;
    const jumpsOf = (html: string, spanId: string) =>
      JSON.parse(/<script type="application\/json" id="span-data">(.*?)<\/script>/s.exec(html)![1]!).find(
        (d: { spanId: string }) => d.spanId === spanId,
      ).jumps as { label: string; href: string }[];
    assert.deepEqual(jumpsOf(here, producer.spanId), [
      { label: 'consumed by process orders.placed (ituna-order-validation)', href: `#span-${consumer.spanId}` },
      {
        label: `consumed by process orders.placed (ituna-order-validation) in trace ${replayed.traceId}`,
        href: `/trace/${replayed.traceId}#span-${replayed.spanId}`,
      },
    ]);
    assert.deepEqual(jumpsOf(here, consumer.spanId), [
      { label: 'produced by send orders.placed (ituna-gateway)', href: `#span-${producer.spanId}` },
    ]);
    // Shown as links in the rows too, without the script.
    assert.match(here, new RegExp(`<a class="jump" href="#span-${consumer.spanId}"[^>]*>→ consumer</a>`));
    assert.match(here, new RegExp(`id="span-${consumer.spanId}"`));
    const there = (await get(`/trace/${replayed.traceId}`)).html;
    assert.ok(
      jumpsOf(there, replayed.spanId).some((j) => j.href === `/trace/${producer.traceId}#span-${producer.spanId}`),
      'the replayed consumer links back to its producer in the first trace',
    );
  });

  it("When the service map of a run is asked for, then services and topics are drawn with each edge's rate and p99, the bottleneck is marked, and the same figures are a table (time printed)", async (t) => {
    const page = await get('/map?run=run-a');
    t.diagnostic(
      `service map of 500 traces in ${page.ms.toFixed(0)} ms; of every trace kept: ${(await get('/map')).ms.toFixed(0)} ms`,
    );
    assert.equal(page.status, 200);
    assert.match(page.html, /500 traces/);
    for (const node of ['clients', 'ituna-gateway', 'orders.placed', 'ituna-order-validation', 'kitchen.tickets'])
      assert.match(page.html, new RegExp(`<text [^>]*>${node.replace('.', '\\.')}( ◀)?</text>`), node);
    assert.match(page.html, /<g class="node service bottleneck"><rect [^>]*\/><text [^>]*>ituna-kitchen ◀<\/text>/);
    assert.match(
      page.html,
      /<tr><td>kitchen\.tickets → ituna-kitchen<\/td><td>processed<\/td><td class="num">500<\/td>/,
    );
    assert.match(
      page.html,
      /<tr><td>clients → ituna-gateway<\/td><td>calls<\/td><td class="num">500<\/td><td class="num">10\.0\/s<\/td>/,
    );
    assert.match((await get('/?run=run-a')).html, /<a href="\/map\?run=run-a">service map<\/a>/);
    assert.match((await get('/map?run=nobody')).html, /No spans match/);
  });

  it('When spans hold markup in names, services, attributes, events and status, then the pages escape all of it and allow only their own script', async () => {
    for (const path of [
      '/',
      `/trace/${hostile[0]!.traceId}`,
      `/compare?a=${hostile[0]!.traceId}&b=${hostile[0]!.traceId}`,
      '/map',
      '/?run=run-%3Chostile%3E',
      '/?order=%22%3E%3Cscript%3E',
    ]) {
      const { html, csp } = await get(path);
      assert.doesNotMatch(html, /<img|<svg onload|<iframe|<b>|<i>|<u>|<script>globalThis/, path);
      assert.equal(
        (html.match(/<script>/g) ?? []).length,
        /^\/(compare|map)/.test(path) ? 0 : 1,
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
