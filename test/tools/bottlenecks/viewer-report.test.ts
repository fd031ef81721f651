import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analyzeTraces } from '../../../tools/traces/run-analysis.ts';
import { traceCriticalPath } from '../../../tools/traces/analysis.ts';
import { compareReports } from '../../../tools/traces/compare-runs.ts';
import { renderCompareText, renderText } from '../../../tools/bottlenecks/text.ts';
import { renderCompareHtml, renderHtml } from '../../../tools/bottlenecks/html.ts';
import { orderTrace } from '../../../tools/traces/synthetic-orders.ts';
import { verdictOf, whatChanged } from '../../../tools/traces/wording.ts';

describe('the report, per trace, under overload and across runs', () => {
  it('When one order crosses Kafka twice, then its critical path sections tile it, and each wait in Kafka runs from the producer end to the consumer start', () => {
    const spans = orderTrace({ startMs: 1000, kitchenWaitMs: 45, placedWaitMs: 12 });
    const path = traceCriticalPath(spans);
    assert.equal(path.sections[0]!.startMs, path.startMs);
    assert.equal(path.sections.at(-1)!.endMs, path.endMs);
    for (let i = 1; i < path.sections.length; i++)
      assert.ok(Math.abs(path.sections[i]!.startMs - path.sections[i - 1]!.endMs) < 1e-9, 'no gap, no overlap');
    const sum = path.sections.reduce((total, s) => total + (s.endMs - s.startMs), 0);
    assert.ok(Math.abs(sum - path.totalMs) < 1e-9);
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const queues = path.sections.filter((s) => s.stage.startsWith('queue '));
    assert.deepEqual(
      queues.map((q) => q.stage),
      ['queue orders.placed', 'queue kitchen.tickets'],
    );
    for (const q of queues) {
      const [producer, consumer] = [byId.get(q.spanId)!, byId.get(q.before!)!];
      assert.equal(consumer.parentSpanId, producer.spanId);
      assert.deepEqual([q.startMs, q.endMs], [producer.endMs, consumer.startMs]);
    }
    // The report's per-stage critical time for this one order is the sum of the path's sections, stage by stage.
    const summed = new Map<string, number>();
    for (const s of path.sections)
      summed.set(`${s.station}|${s.stage}`, (summed.get(`${s.station}|${s.stage}`) ?? 0) + s.endMs - s.startMs);
    const reported = analyzeTraces([spans]).stages.filter((s) => s.criticalMs > 0);
    assert.deepEqual(
      new Set(reported.map((s) => `${s.station}|${s.stage}`)),
      new Set(summed.keys()),
      'the report holds the stages of the path, no more',
    );
    for (const s of reported)
      assert.ok(
        Math.abs(s.criticalMs - summed.get(`${s.station}|${s.stage}`)!) < 1e-9,
        `${s.stage}: report ${s.criticalMs} ms`,
      );
    assert.ok(
      !path.sections.some((s) => byId.get(s.spanId)!.name === 'process orders.status'),
      "the followers' spans are not on the path",
    );
  });

  it('When most orders are still in flight, then the verdict says how many and where the oldest waits, and end-to-end covers finished orders only', () => {
    const t0 = 1_000_000;
    const done = Array.from({ length: 60 }, (_, i) => orderTrace({ startMs: t0 + i * 10 }));
    const stuck = Array.from({ length: 240 }, (_, i) =>
      orderTrace({ startMs: t0 + 1000 + i * 10, stopAt: i < 200 ? 'kitchen.tickets' : 'orders.placed' }),
    );
    const report = analyzeTraces([...done, ...stuck], { now: t0 + 96_000 });
    assert.equal(report.orders, 300);
    assert.equal(report.inFlight.count, 240);
    assert.match(
      verdictOf(report),
      /^240 of 300 orders in flight, oldest waiting 95 s in kitchen\.tickets \(200 in kitchen\.tickets, 40 in orders\.placed\)\. Bottleneck: kitchen/,
    );
    assert.equal(report.endToEnd.count, 60, 'only finished orders have an end-to-end time');
    assert.equal(report.queues.find((q) => q.topic === 'kitchen.tickets')!.open, 200);
    assert.equal(report.slowest[0]!.state, 'in flight');
    assert.ok(report.slowest[0]!.waits.some((w) => w.open && w.topic === 'kitchen.tickets'));
    const text = renderText(report, 'overload');
    assert.match(text, /kitchen\.tickets: 200 orders, oldest waiting 95 s/);
  });

  it('When no order has finished, then end-to-end says "—", not zeros', () => {
    const report = analyzeTraces([orderTrace({ startMs: 0, stopAt: 'kitchen.tickets' })], { now: 5000 });
    assert.equal(report.endToEnd.count, 0);
    assert.match(
      renderText(report, 'x'),
      /End to end, finished orders \(HTTP call → ready\/rejected\): — \(no order finished yet\)/,
    );
    assert.doesNotMatch(renderText(report, 'x'), /p50 0\.0 ms/);
    assert.match(renderHtml(report, 'x'), /— \(no order finished yet\)/);
    assert.match(
      verdictOf(report),
      /^1 of 1 orders in flight, oldest waiting 5.0 s in kitchen\.tickets\. Bottleneck: kitchen/,
    );
  });

  it('When a run is compared with another, then both sides, the differences and the moved bottleneck are stated', () => {
    const slowKitchen = analyzeTraces(
      Array.from({ length: 50 }, (_, i) => orderTrace({ startMs: i * 100, kitchenWaitMs: 2900 })),
    );
    const slowChecks = analyzeTraces(
      Array.from({ length: 50 }, (_, i) => orderTrace({ startMs: i * 100, kitchenWaitMs: 410, inventoryMs: 2000 })),
    );
    const comparison = compareReports(
      { title: 'run before', report: slowKitchen },
      { title: 'run after', report: slowChecks },
    );
    assert.ok(
      whatChanged(comparison).includes('kitchen.tickets wait p95 2.90 s → 410.0 ms (−86%)'),
      whatChanged(comparison).join('\n'),
    );
    assert.match(
      whatChanged(comparison)[0]!,
      /^bottleneck moved from kitchen \(\d+% of the critical path\) to order validation \(\d+%\)$/,
    );
    const inventory = comparison.stages.find((r) => r.stage === 'validate inventory')!;
    assert.ok(inventory.before && inventory.after && inventory.after.share > inventory.before.share);
    const text = renderCompareText(comparison);
    assert.match(text, /run after against run before/);
    assert.match(
      text,
      /validate inventory\s+order validation\s+29\.9 ms\s+29\.9 ms\s+29\.9 ms\s+[\d.]+%\s+2\.00 s\s+2\.00 s\s+2\.00 s\s+[\d.]+%\s+\+6589%/,
    );
    const html = renderCompareHtml(comparison, { uiUrl: 'http://127.0.0.1:16686' });
    assert.match(html, /bottleneck moved from kitchen \(\d+% of the critical path\) to order validation/);
    assert.ok(html.includes('<td class="better">−86%</td>'));
  });

  it('When the HTML report names spans, services and runs that hold markup, then all of it is escaped, and the slowest orders link to their traces', () => {
    const hostile = orderTrace({ startMs: 0 });
    for (const span of hostile) {
      span.name = `<img src=x onerror=alert(1)>${span.name}`;
      span.attributes['ituna.order.id'] = '<script>alert(2)</script>';
    }
    const report = analyzeTraces([hostile, orderTrace({ startMs: 0 })], { now: 10_000 });
    const html = renderHtml(report, '<b>title</b>', {
      uiUrl: 'http://127.0.0.1:16686',
      runId: '"><script>alert(3)</script>',
    });
    assert.doesNotMatch(html, /<img|<script|<b>/);
    assert.equal((html.match(/<figure class="mini">/g) ?? []).length, 2);
    assert.ok(html.includes(`href="http://127.0.0.1:16686/trace/${hostile[0]!.traceId}"`));
    assert.ok(html.includes('href="http://127.0.0.1:16686/?run=%22%3E%3Cscript%3Ealert(3)%3C%2Fscript%3E"'));
  });

  it('When a 12,000-order run is analysed whole, then every order counts (time printed, target 30 s)', (t) => {
    const traces = Array.from({ length: 12_000 }, (_, i) => orderTrace({ startMs: i * 5, kitchenWaitMs: i % 400 }));
    const spans = traces.reduce((n, list) => n + list.length, 0);
    const started = performance.now();
    const report = analyzeTraces(traces);
    const elapsed = performance.now() - started;
    t.diagnostic(`analyzeTraces: ${traces.length} orders, ${spans} spans in ${elapsed.toFixed(0)} ms`);
    assert.equal(report.ready, 12_000);
    assert.equal(report.bottleneck?.station, 'kitchen');
  });
});
