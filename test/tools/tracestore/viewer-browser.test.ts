import assert from 'node:assert/strict';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Browser, Page } from 'playwright-core';
import { traceCriticalPath } from '../../../tools/traces/analysis.ts';
import type { FlatSpan } from '../../../tools/traces/otlp.ts';
import { toResourceSpans } from '../../../tools/traces/otlp.ts';
import { monitorKafka } from '../../../tools/tracestore/monitor-feed.ts';
import { openTraceStore } from '../../../tools/tracestore/store.ts';
import type { TraceStore } from '../../../tools/tracestore/store.ts';
import { startTraceStoreServer } from '../../../tools/tracestore/server.ts';
import { launchChromium } from '../../../tools/bench/browser.ts';
import { testBrokers } from '../../support/broker.ts';
import { bigTrace, orderTrace } from '../../../tools/traces/synthetic-orders.ts';
import { startPipeline, waitUntilSettled } from '../../support/pipeline.ts';

// The store's pages in a real browser, over the traces of a live pipeline. Screenshots go to ITUNA_TEST_OUTPUT or a
// temporary directory, never into the repository.
let browser: Browser | undefined;
let outDir: string;

before(async () => {
  browser = await launchChromium();
  outDir = process.env.ITUNA_TEST_OUTPUT
    ? join(process.env.ITUNA_TEST_OUTPUT, 'viewer')
    : await mkdtemp(join(tmpdir(), 'ituna-viewer-'));
  await mkdir(outDir, { recursive: true });
});
after(() => browser?.close());

/** Each Kafka hop of a trace: a consumer span and the producer span it is the child of. */
function kafkaHops(spans: FlatSpan[]): Array<{ producer: FlatSpan; consumer: FlatSpan }> {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  return spans.flatMap((consumer) => {
    const producer = byId.get(consumer.parentSpanId ?? '');
    return consumer.kind === 'consumer' && producer?.kind === 'producer' ? [{ producer, consumer }] : [];
  });
}

function needBrowser(t: { skip(message: string): void }): boolean {
  if (browser) return true;
  if (process.env.CI) assert.fail('chromium is missing: .ci/run must install it (apt-get install -y chromium)');
  t.skip('chromium is not installed (apt-get install -y chromium)');
  return false;
}

/** A page that records any request leaving the store, any script error and any dialog. */
async function openPage(origin: string, viewport = { width: 1280, height: 900 }) {
  const page = await browser!.newPage({ viewport });
  const problems: string[] = [];
  page.on('request', (r) => void (r.url().startsWith(origin) || problems.push(`request to ${r.url()}`)));
  page.on('pageerror', (e) => void problems.push(`page error: ${e.message}`));
  page.on('dialog', (d) => {
    problems.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  page.on('console', (m) => void (m.type() === 'error' && problems.push(`console: ${m.text()}`)));
  return { page, problems };
}

/** Waits until a trace holds a span named `last` and has stopped growing for a second. */
async function settledTrace(store: TraceStore, traceId: string, last: string): Promise<FlatSpan[]> {
  const deadline = Date.now() + 30_000;
  let count = -1;
  for (;;) {
    const spans = store.trace(traceId);
    if (spans.some((s) => s.name === last) && spans.length === count) return spans;
    if (Date.now() > deadline)
      throw new Error(`trace ${traceId}: ${spans.length} spans, no settled '${last}' after 30 s`);
    count = spans.length;
    await sleep(1000);
  }
}

interface Box {
  x: number;
  width: number;
  laneWidth: number;
  span: string;
  from?: string;
  to?: string;
  key?: string;
  ms: number;
}

/** Where the elements matching `selector` sit in their row's time lane, with their data attributes. */
async function geometry(page: Page, selector: string): Promise<Box[]> {
  // Written as a string: it runs in the page, and this project's type check has no DOM library.
  return page.evaluate(`[...document.querySelectorAll(${JSON.stringify(selector)})].map((e) => {
    const box = e.getBoundingClientRect();
    const lane = e.closest('.lane').getBoundingClientRect();
    return { x: box.x - lane.x, width: box.width, laneWidth: lane.width, span: e.closest('.row').dataset.span, from: e.dataset.from, to: e.dataset.to, key: e.dataset.key, ms: Number(e.dataset.ms) };
  })`);
}

describe('the trace viewer in Chromium', { timeout: 300_000 }, () => {
  it("When a live pipeline has traced orders, then the list finds them and the waterfall draws them true to the spans, with Kafka waits and the report's critical path", async (t) => {
    if (!needBrowser(t)) return;
    const store = await openTraceStore();
    const server = await startTraceStoreServer(store, { otlpPort: 0, queryPort: 0 });
    t.after(() => server.close());
    const pipeline = await startPipeline(await testBrokers(), server.otlpUrl, {
      ITUNA_DELAYS: 'address=3,name=1,inventory=8,cook=15',
    });
    let accepted: Array<{ orderId: string; traceId: string }>;
    try {
      accepted = [];
      for (let i = 0; i < 3; i++) {
        const response = await fetch(`${pipeline.gatewayUrl}/orders/onsite`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', baggage: 'ituna.run.id=viewer-test' },
          body: JSON.stringify({
            table: 7,
            customerName: 'Kenji Sato',
            items: [
              { menuItemId: 'salmon-nigiri', quantity: 2 },
              { menuItemId: 'miso-soup', quantity: 1 },
            ],
          }),
        });
        assert.equal(response.status, 202);
        accepted.push((await response.json()) as { orderId: string; traceId: string });
      }
      await waitUntilSettled(
        pipeline.gatewayUrl,
        accepted.map((a) => a.orderId),
        60_000,
      );
      for (const { traceId } of accepted) await settledTrace(store, traceId, 'cook order');
    } finally {
      await pipeline.stop();
    }
    // The broker may hand a committed ticket to the kitchen before validation has read its commit's answer, so a
    // kitchen span can start before the producer span that sent the ticket ends. The waits below need a ticket that
    // waited in Kafka: the first order whose ticket did.
    const waited = accepted.filter(({ traceId }) =>
      kafkaHops(store.trace(traceId)).some(
        ({ producer, consumer }) => producer.name.includes('kitchen.tickets') && consumer.startMs > producer.endMs,
      ),
    );
    const { orderId, traceId } = waited[0] ?? accepted[1]!;
    const spans = store.trace(traceId);
    t.diagnostic(
      `live trace ${traceId}: ${spans.length} spans; orders whose ticket waited in Kafka: ${waited.length} of ${accepted.length}`,
    );

    const { page, problems } = await openPage(server.queryUrl);
    await page.goto(`${server.queryUrl}/?order=${orderId}`);
    assert.match((await page.locator('.pager span').first().textContent()) ?? '', /^1–1 of 1 traces/);
    await page.goto(`${server.queryUrl}/?run=viewer-test`);
    assert.equal(await page.locator('table.traces tbody tr').count(), 3);
    await page.screenshot({ path: join(outDir, 'list.png'), fullPage: true });
    await page.locator(`a[href="/trace/${traceId}"]`).click();
    await page.waitForURL(`**/trace/${traceId}`);
    await page.screenshot({ path: join(outDir, 'trace.png'), fullPage: true });

    // Every span has a bar, as wide as its duration on the trace's time axis, within a pixel.
    const t0 = Math.min(...spans.map((s) => s.startMs));
    const total = Math.max(...spans.map((s) => s.endMs)) - t0;
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const bars = await geometry(page, '.row:not(.axis) .bar');
    assert.equal(bars.length, spans.length);
    let [worst, worstWide] = [0, 0];
    for (const bar of bars) {
      const span = byId.get(bar.span)!;
      const expected = {
        x: ((span.startMs - t0) / total) * bar.laneWidth,
        width: (span.durationMs / total) * bar.laneWidth,
      };
      const off = Math.max(Math.abs(bar.x - expected.x), Math.abs(bar.width - expected.width));
      worst = Math.max(worst, off);
      if (expected.width >= 1) worstWide = Math.max(worstWide, off);
      assert.ok(
        off <= 1,
        `${span.name}: bar at ${bar.x.toFixed(2)}+${bar.width.toFixed(2)} px, expected ${expected.x.toFixed(2)}+${expected.width.toFixed(2)} px`,
      );
    }
    t.diagnostic(
      `${bars.length} bars on a ${bars[0]!.laneWidth.toFixed(0)} px axis: position and width within ${worst.toFixed(3)} px of the spans' (${worstWide.toFixed(3)} px for bars a pixel or wider; narrower ones are drawn 1 px wide)`,
    );

    // A Kafka wait segment for every producer → consumer pair, from the producer's end to the consumer's start.
    const waits = await geometry(page, '.wait');
    const hops = kafkaHops(spans);
    assert.equal(hops.length, 2, 'both hops of the order: orders.placed and kitchen.tickets');
    for (const { producer, consumer } of hops) {
      const segment = waits.filter((w) => w.from === producer.spanId && w.to === consumer.spanId);
      assert.equal(segment.length, 1, `one wait segment for ${producer.name} → ${consumer.name}`);
      const expected = (Math.max(0, consumer.startMs - producer.endMs) / total) * segment[0]!.laneWidth;
      assert.ok(
        Math.abs(segment[0]!.width - expected) <= 1,
        `${consumer.name}: wait ${segment[0]!.width} px, expected ${expected} px`,
      );
    }
    const labels = await page.locator('.meta').allTextContents();
    assert.ok(
      labels.some((l) => /waited [\d.]+ m?s in kitchen\.tickets/.test(l)),
      `the wait is labelled with topic and time: ${labels.filter((l) => l.includes('waited')).join('; ')}`,
    );
    assert.ok(
      labels.every((l) => /^self [\d.]+ (ms|s)/.test(l)),
      'self time beside every bar',
    );

    // The highlighted critical path is the report's, stage by stage.
    const highlighted = new Map<string, number>();
    for (const c of await geometry(page, '.crit')) highlighted.set(c.key!, (highlighted.get(c.key!) ?? 0) + c.ms);
    const report = traceCriticalPath(spans);
    assert.deepEqual([...highlighted.keys()].sort(), [...report.byStage.keys()].sort());
    for (const [key, { ms }] of report.byStage)
      assert.ok(
        Math.abs(highlighted.get(key)! - ms) < 1e-3,
        `${key}: page ${highlighted.get(key)} ms, report ${ms} ms`,
      );
    assert.ok(
      [...report.byStage.keys()].some((k) => k.startsWith('kitchen|queue kitchen.tickets')),
      'the path keeps the consumer spans that start after their parent ended',
    );
    t.diagnostic(
      `critical path: ${report.totalMs.toFixed(1)} ms in ${report.byStage.size} stages, page and report agree`,
    );

    // Clicking a span shows its attributes; the keyboard does the same.
    const kitchenRow = page.locator('.row', {
      has: page.locator('button.name', { hasText: 'process kitchen.tickets' }),
    });
    await kitchenRow.locator('button.name').click();
    const detail = kitchenRow.locator('.detail');
    await detail.waitFor();
    const text = (await detail.textContent()) ?? '';
    for (const expected of ['ituna.queue.wait_ms', 'messaging.destination.name', orderId, 'Events', 'Links', 'status'])
      assert.ok(text.includes(expected), `details show ${expected}`);
    await page.screenshot({ path: join(outDir, 'trace-details.png'), fullPage: true });
    await kitchenRow.locator('button.name').press('Enter');
    assert.equal(await kitchenRow.locator('.detail').count(), 0, 'Enter closes it again');
    await page.locator('.row:not(.axis) button.name').first().focus();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    assert.equal(
      await page.locator('.row:not(.axis)').nth(1).locator('.detail').count(),
      1,
      'arrow down, Enter: the second span opens',
    );

    // A live order's statuses are events, so its trace has no followers' spans to hide, and no toggle. A trace that has
    // them (a view traced in another set-up) gets one, and it hides them.
    assert.equal(await page.locator('#hide-followers').count(), 0);
    const withFollowers = orderTrace();
    store.add(withFollowers);
    await page.goto(`${server.queryUrl}/trace/${withFollowers[0]!.traceId}`);
    const followers = withFollowers.filter((s) => s.kind === 'consumer' && s.name === 'process orders.status').length;
    assert.ok(followers > 0);
    const visibleFollowers = () => page.locator('.row.follower:visible').count();
    assert.equal(await visibleFollowers(), followers);
    await page.locator('#hide-followers').check();
    assert.equal(await visibleFollowers(), 0);
    await page.locator('#hide-followers').uncheck();

    // A phone's width: everything readable without scrolling sideways.
    const phone = await openPage(server.queryUrl, { width: 390, height: 844 });
    for (const path of [`/trace/${traceId}`, '/?run=viewer-test']) {
      await phone.page.goto(`${server.queryUrl}${path}`);
      assert.ok(
        ((await phone.page.evaluate('document.documentElement.scrollWidth')) as number) <= 391,
        `${path} fits a 390 px screen`,
      );
    }
    await phone.page.goto(`${server.queryUrl}/trace/${traceId}`);
    await phone.page.screenshot({ path: join(outDir, 'trace-phone.png'), fullPage: true });
    await phone.page.close();
    assert.deepEqual(problems, []);
    t.diagnostic(`screenshots in ${outDir}`);
  });

  it('When 10,000+ traces and a 1000-span trace are kept, then the list and the trace page load in the browser (times printed, target 1 s each)', async (t) => {
    if (!needBrowser(t)) return;
    const store = await openTraceStore({ maxSpans: 1_000_000 });
    for (let i = 0; i < 10_200; i++) store.add(orderTrace({ startMs: Date.now() - 3_600_000 + i * 100 }));
    const big = bigTrace(1000);
    store.add(big);
    const server = await startTraceStoreServer(store, { otlpPort: 0, queryPort: 0 });
    t.after(() => server.close());
    const { page, problems } = await openPage(server.queryUrl);
    const timed = async (path: string) => {
      const figures = [];
      for (let round = 0; round < 3; round++) {
        const started = performance.now();
        await page.goto(`${server.queryUrl}${path}`, { waitUntil: 'load' });
        await page.evaluate('new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))');
        const wall = performance.now() - started;
        const served = (await page.evaluate(
          '(({ requestStart, responseEnd }) => responseEnd - requestStart)(performance.getEntriesByType("navigation")[0])',
        )) as number;
        figures.push(`${wall.toFixed(0)} ms (server ${served.toFixed(0)} ms)`);
      }
      return figures.join(', ');
    };
    t.diagnostic(`list of ${10_201} traces, request to painted: ${await timed('/')}`);
    t.diagnostic(`trace of ${big.length} spans, request to painted: ${await timed(`/trace/${big[0]!.traceId}`)}`);
    assert.equal(await page.locator('.row:not(.axis) .bar').count(), 1000);
    await page.screenshot({ path: join(outDir, 'trace-1000.png') });

    // The duration scatter: a dot per matching trace, drawn on a canvas (its own figure is in npm run bench:viewer).
    await page.goto(`${server.queryUrl}/`, { waitUntil: 'load' });
    const scatter = page.locator('#scatter');
    assert.equal(await scatter.getAttribute('data-dots'), '10201');
    t.diagnostic(`duration scatter of 10201 dots painted in ${await scatter.getAttribute('data-paint-ms')} ms`);
    await page.screenshot({ path: join(outDir, 'list-scatter.png') });
    // Keyboard: the canvas takes focus, → picks the newest trace and says what it is, Enter opens it.
    await scatter.focus();
    await page.keyboard.press('ArrowRight');
    const said = await page.locator('#scatter-said').textContent();
    assert.match(said!, new RegExp(`trace ${big[0]!.traceId}$`), 'the newest trace is the big one');
    await Promise.all([page.waitForURL(/\/trace\//), page.keyboard.press('Enter')]);
    assert.equal(new URL(page.url()).pathname, `/trace/${big[0]!.traceId}`);
    // A click on a dot opens that trace: the high dot at the far right is the big trace again.
    await page.goto(`${server.queryUrl}/`, { waitUntil: 'load' });
    const box = (await scatter.boundingBox())!;
    const dot = (await page.evaluate(`(() => {
      const dots = JSON.parse(document.getElementById('dots').textContent);
      return { t: dots.t[0], d: dots.d[0], t0: Math.min(...dots.t), t1: Math.max(...dots.t), dMax: Math.max(...dots.d) * 1.05 };
    })()`)) as { t: number; d: number; t0: number; t1: number; dMax: number };
    const [left, right, top, bottom] = [56, 10, 8, 22];
    const x = box.x + left + ((dot.t - dot.t0) / (dot.t1 - dot.t0)) * (box.width - left - right);
    const y = box.y + 220 - bottom - (dot.d / dot.dMax) * (220 - top - bottom);
    await Promise.all([page.waitForURL(/\/trace\//), page.mouse.click(x, y)]);
    assert.equal(new URL(page.url()).pathname, `/trace/${big[0]!.traceId}`);
    // A drag from 100 s to 500 s after the oldest order narrows the search to that span, in a URL to share.
    await page.goto(`${server.queryUrl}/?service=ituna-gateway`, { waitUntil: 'load' });
    const xAt = (t: number) => box.x + left + ((t - dot.t0) / (dot.t1 - dot.t0)) * (box.width - left - right);
    const [from, to] = [xAt(dot.t0 + 100_000), xAt(dot.t0 + 500_000)];
    await page.mouse.move(from, box.y + 100);
    await page.mouse.down();
    await page.mouse.move(to, box.y + 100, { steps: 5 });
    await Promise.all([page.waitForURL(/from=/), page.mouse.up()]);
    const narrowed = new URL(page.url()).searchParams;
    assert.equal(narrowed.get('service'), 'ituna-gateway', 'the other filters stay');
    const [fromMs, toMs] = [Number(narrowed.get('from')), Number(narrowed.get('to'))];
    assert.ok(fromMs > dot.t0 && toMs < dot.t1 && toMs > fromMs, `${fromMs}–${toMs} within ${dot.t0}–${dot.t1}`);
    const listed = Number(/of (\d+) traces/.exec((await page.locator('.pager').first().textContent())!)![1]);
    // An order starts every 100 ms: about 4000 of them, give or take what one pixel of the axis spans.
    assert.ok(listed > 3700 && listed < 4300, `about 4000 traces listed, ${listed}`);
    assert.equal(await scatter.getAttribute('data-dots'), String(listed));
    // On a phone the scatter fits the width.
    const phone = await openPage(server.queryUrl, { width: 390, height: 800 });
    await phone.page.goto(`${server.queryUrl}/`, { waitUntil: 'load' });
    const narrow = (await phone.page.locator('#scatter').boundingBox())!;
    assert.ok(narrow.width <= 390 && narrow.width > 300, `scatter ${narrow.width} px wide on a 390 px screen`);
    await phone.page.close();
    assert.deepEqual([...problems, ...phone.problems], []);
  });

  it('When a producer or consumer jump is followed, then the page shows the span at the other end with its details open, in this trace or another', async (t) => {
    if (!needBrowser(t)) return;
    const store = await openTraceStore();
    const order = orderTrace({});
    const producer = order.find((s) => s.name === 'send kitchen.tickets')!;
    const consumer = order.find((s) => s.name === 'process kitchen.tickets')!;
    const replay = orderTrace({});
    const replayed = replay.find((s) => s.name === 'process kitchen.tickets')!;
    replayed.links = [{ traceId: producer.traceId, spanId: producer.spanId, attributes: {} }];
    store.add(order);
    store.add(replay);
    const server = await startTraceStoreServer(store, { otlpPort: 0, queryPort: 0 });
    t.after(() => server.close());
    const { page, problems } = await openPage(server.queryUrl);
    await page.goto(`${server.queryUrl}/trace/${producer.traceId}`, { waitUntil: 'load' });
    await page.locator(`#span-${producer.spanId} a.jump[href="#span-${consumer.spanId}"]`).click();
    const target = page.locator(`#span-${consumer.spanId}`);
    await target.locator('.detail').waitFor();
    assert.match(
      (await target.locator('.detail').textContent())!,
      /Produced byproduced by send kitchen\.tickets \(ituna-order-validation\)/,
    );
    assert.equal(await page.evaluate('document.activeElement.closest(".row").id'), `span-${consumer.spanId}`);
    // From the producer's details to the replay's consumer in the other trace.
    await page.locator(`#span-${producer.spanId} button.name`).click();
    await Promise.all([
      page.waitForURL(new RegExp(`/trace/${replayed.traceId}#span-${replayed.spanId}$`)),
      page.locator(`#span-${producer.spanId} .detail a`, { hasText: `in trace ${replayed.traceId}` }).click(),
    ]);
    await page.locator(`#span-${replayed.spanId} .detail`).waitFor();
    assert.match(
      (await page.locator(`#span-${replayed.spanId} .detail`).textContent())!,
      new RegExp(`produced by send kitchen\\.tickets \\(ituna-order-validation\\) in trace ${producer.traceId}`),
    );
    assert.deepEqual(problems, []);
  });

  it('When the Graph tab of a trace is chosen, then the operations show as a graph with the Kafka hops and the critical path, and the Waterfall tab brings the rows back, on a phone too', async (t) => {
    if (!needBrowser(t)) return;
    const store = await openTraceStore();
    const order = orderTrace({ kitchenWaitMs: 400 });
    store.add(order);
    const server = await startTraceStoreServer(store, { otlpPort: 0, queryPort: 0 });
    t.after(() => server.close());
    for (const viewport of [
      { width: 1280, height: 900 },
      { width: 390, height: 800 },
    ]) {
      const { page, problems } = await openPage(server.queryUrl, viewport);
      await page.goto(`${server.queryUrl}/trace/${order[0]!.traceId}`, { waitUntil: 'load' });
      assert.equal(await page.locator('#graph').isVisible(), false, 'the waterfall first');
      await page.getByRole('link', { name: 'Graph' }).click();
      assert.equal(await page.locator('#graph').isVisible(), true);
      assert.equal(await page.locator('.waterfall').isVisible(), false);
      const nodes = await page.locator('#graph g.gnode').count();
      assert.equal(nodes, new Set(order.map((s) => `${s.service}|${s.name}`)).size);
      assert.ok((await page.locator('#graph g.gnode.path').count()) >= 5, 'the critical path is marked');
      assert.match((await page.locator('#graph svg').textContent())!, /kitchen\.tickets · waited 400\.0 ms/);
      assert.match(
        (await page.locator('#graph ul.hops').textContent())!,
        /kitchen\.tickets: waited 400\.0 ms \(on the critical path\)/,
      );
      const figure = (await page.locator('#graph figure.graph').boundingBox())!;
      assert.ok(figure.width <= viewport.width, 'the drawing scrolls inside the page, not the page');
      await page.screenshot({ path: join(outDir, `graph-${viewport.width}.png`), fullPage: true });
      await page.getByRole('link', { name: 'Waterfall' }).click();
      assert.equal(await page.locator('.waterfall').isVisible(), true);
      assert.equal(await page.locator('#graph').isVisible(), false);
      await page.close();
      assert.deepEqual(problems, []);
    }
  });

  it('When orders are traced while /monitor is open, then their stages, queues, the verdict and the consumer lag appear without a reload, within 2 s of the spans (time printed)', async (t) => {
    if (!needBrowser(t)) return;
    const store = await openTraceStore();
    const brokers = await testBrokers();
    const kafka = monitorKafka([brokers], {});
    const server = await startTraceStoreServer(store, { otlpPort: 0, queryPort: 0, kafka });
    t.after(() => server.close());
    const post = async (spans: FlatSpan[]) => {
      const response = await fetch(`${server.otlpUrl}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ resourceSpans: toResourceSpans(spans) }),
      });
      assert.equal(response.status, 200);
    };
    const orders = (count: number, runId: string) =>
      Array.from({ length: count }, () => orderTrace({ startMs: Date.now() - 600, runId, kitchenWaitMs: 150 })).flat();
    await post(orders(20, 'watched'));
    const { page, problems } = await openPage(server.queryUrl);
    await page.goto(`${server.queryUrl}/monitor?run=watched`, { waitUntil: 'load' });
    const cell = (stage: string) => page.locator('#series tr', { hasText: stage }).locator('td').nth(1);
    await page.locator('#series tr', { hasText: 'queue kitchen.tickets' }).waitFor();
    assert.match((await page.locator('#series').textContent())!, /kitchen · cook order/);
    await page.locator('#verdict', { hasText: 'Bottleneck:' }).waitFor({ timeout: 10_000 });
    await page.locator('#lag tr', { hasText: 'ituna-kitchen on kitchen.tickets' }).waitFor({ timeout: 15_000 });
    // More orders while the page is open: the rate it shows rises without a reload.
    const before = await cell('queue kitchen.tickets').textContent();
    const sent = performance.now();
    await post(orders(40, 'watched'));
    await page
      .locator('#series tr', { hasText: 'queue kitchen.tickets' })
      .locator('td')
      .nth(1)
      .filter({ hasNotText: before! })
      .waitFor({ timeout: 5000 });
    const shownMs = performance.now() - sent;
    t.diagnostic(`new spans shown ${shownMs.toFixed(0)} ms after they reached the store`);
    assert.ok(shownMs <= 2000, `shown ${shownMs.toFixed(0)} ms after the spans arrived`);
    // Another run's orders stay out of this run's view.
    await post(orders(10, 'other'));
    const updated = Number(await page.locator('#status').getAttribute('data-now'));
    for (let i = 0; i < 50 && Number(await page.locator('#status').getAttribute('data-now')) <= updated + 1000; i++)
      await sleep(100);
    assert.doesNotMatch((await page.locator('#series').textContent())!, /other/);
    await page.screenshot({ path: join(outDir, 'monitor.png'), fullPage: true });
    assert.deepEqual(problems, []);
  });

  it('When a span holds HTML and script in its name, service, attributes, events and status, then nothing runs and everything shows as text', async (t) => {
    if (!needBrowser(t)) return;
    const store = await openTraceStore();
    const hostile = orderTrace();
    hostile[0]!.name = '<img src=x onerror="window.pwned=1">';
    hostile[0]!.service = '<script>window.pwned=2</script>';
    hostile[0]!.attributes['ituna.order.id'] = '"><img src=y onerror="window.pwned=3">';
    hostile[0]!.attributes['<svg onload="window.pwned=4">'] = '</script><script>window.pwned=5</script>';
    hostile[0]!.events.push({
      name: '<iframe srcdoc="<script>parent.pwned=6</script>">',
      timeMs: hostile[0]!.startMs,
      attributes: { x: '<b onmouseover="window.pwned=7">b</b>' },
    });
    hostile[0]!.status = { code: 'error', message: '<img src=z onerror="window.pwned=8">' };
    hostile[0]!.links.push({ traceId: 'javascript:window.pwned=9', spanId: '<i>' });
    store.add(hostile);
    const server = await startTraceStoreServer(store, { otlpPort: 0, queryPort: 0 });
    t.after(() => server.close());
    const { page, problems } = await openPage(server.queryUrl);
    const injected = () =>
      page.evaluate(
        `({ pwned: window.pwned ?? null, elements: document.querySelectorAll('img, iframe, b, svg:not(figure > svg)').length })`,
      );
    await page.goto(`${server.queryUrl}/?order=${encodeURIComponent('"><img src=y onerror="window.pwned=3">')}`);
    assert.equal(await page.locator('table.traces tbody tr').count(), 1);
    assert.ok(
      ((await page.locator('a.root').textContent()) ?? '').includes('<img src=x onerror="window.pwned=1">'),
      'the name shows as text',
    );
    assert.deepEqual(await injected(), { pwned: null, elements: 0 });
    await page.locator('a.root').click();
    await page.waitForURL(`**/trace/${hostile[0]!.traceId}`);
    await page.locator('.row:not(.axis) button.name').first().click();
    const detail = (await page.locator('.detail').textContent()) ?? '';
    for (const text of [
      '<svg onload="window.pwned=4">',
      '</script><script>window.pwned=5</script>',
      '<iframe srcdoc=',
      '<img src=z onerror="window.pwned=8">',
    ]) {
      assert.ok(detail.includes(text), `shown as text: ${text}`);
    }
    assert.equal(
      await page.locator('.detail a[href]').count(),
      0,
      'a link to something other than a trace id is not a link',
    );
    await page.locator('.detail').hover();
    assert.deepEqual(await injected(), { pwned: null, elements: 0 });
    await page.screenshot({ path: join(outDir, 'hostile.png'), fullPage: true });
    assert.deepEqual(problems, []);
  });
});
