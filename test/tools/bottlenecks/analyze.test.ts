import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FlatSpan } from '../../../tools/traces/otlp.ts';
import { percentiles } from '../../../tools/traces/percentiles.ts';
import { analyzeTraces } from '../../../tools/traces/run-analysis.ts';
import { selfTime, traceCriticalPath } from '../../../tools/traces/analysis.ts';
import { renderText } from '../../../tools/bottlenecks/text.ts';
import { renderHtml } from '../../../tools/bottlenecks/html.ts';
import { verdictOf } from '../../../tools/traces/wording.ts';

let nextId = 0;
type Kind = FlatSpan['kind'];
function span(
  traceId: string,
  name: string,
  service: string,
  kind: Kind,
  startMs: number,
  endMs: number,
  parent?: FlatSpan,
  attributes: FlatSpan['attributes'] = {},
): FlatSpan {
  return {
    traceId,
    spanId: String(++nextId).padStart(16, '0'),
    parentSpanId: parent?.spanId,
    name,
    kind,
    service,
    startMs,
    endMs,
    durationMs: endMs - startMs,
    attributes,
    status: { code: 'unset' },
    events: [],
    links: [],
  };
}

/** One order, times in ms; `inventory` and `cook` set how long those steps take, `kitchenQueue` how long the ticket waits. */
function fixture(traceId: string, { inventory = 30, cook = 90, kitchenQueue = 45 } = {}): FlatSpan[] {
  const spans: FlatSpan[] = [];
  const add = (...args: Parameters<typeof span>) => {
    const made = span(...args);
    spans.push(made);
    return made;
  };
  const [gw, val, kit] = ['ituna-gateway', 'ituna-order-validation', 'ituna-kitchen'];
  const root = add(traceId, 'POST /orders/online', gw!, 'server', 0, 10);
  const sendPlaced = add(traceId, 'send orders.placed', gw!, 'producer', 5, 8, root, {
    'messaging.destination.name': 'orders.placed',
  });
  const processPlaced = add(traceId, 'process orders.placed', val!, 'consumer', 20, 25 + inventory + 5, sendPlaced, {
    'messaging.destination.name': 'orders.placed',
    'ituna.queue.wait_ms': 12,
  });
  const validate = add(traceId, 'validate order', val!, 'internal', 20, 20 + inventory, processPlaced, {
    'ituna.validation.result': 'valid',
  });
  add(traceId, 'validate address', val!, 'internal', 20, 25, validate);
  add(traceId, 'validate name', val!, 'internal', 20, 22, validate);
  add(traceId, 'validate inventory', val!, 'internal', 20, 20 + inventory, validate);
  const ticketAt = 20 + inventory;
  const sendTicket = add(traceId, 'send kitchen.tickets', val!, 'producer', ticketAt, ticketAt + 5, processPlaced, {
    'messaging.destination.name': 'kitchen.tickets',
  });
  const kitchenStart = ticketAt + 5 + kitchenQueue;
  const processTicket = add(
    traceId,
    'process kitchen.tickets',
    kit!,
    'consumer',
    kitchenStart,
    kitchenStart + cook + 10,
    sendTicket,
    {
      'messaging.destination.name': 'kitchen.tickets',
      'ituna.queue.wait_ms': kitchenQueue,
    },
  );
  const cookOrder = add(traceId, 'cook order', kit!, 'internal', kitchenStart, kitchenStart + cook, processTicket);
  add(traceId, 'prepare tuna-nigiri', kit!, 'internal', kitchenStart, kitchenStart + cook, cookOrder);
  const ready = add(
    traceId,
    'send orders.status',
    kit!,
    'producer',
    kitchenStart + cook,
    kitchenStart + cook + 10,
    processTicket,
    {
      'messaging.destination.name': 'orders.status',
    },
  );
  add(traceId, 'process orders.status', gw!, 'consumer', kitchenStart + cook + 15, kitchenStart + cook + 16, ready);
  return spans;
}

describe('bottleneck math', () => {
  it('When percentiles are taken, then they use the nearest rank', () => {
    assert.deepEqual(percentiles([5, 1, 4, 2, 3]), { count: 5, p50: 3, p95: 5, p99: 5, max: 5 });
    assert.deepEqual(percentiles([]), { count: 0, p50: 0, p95: 0, p99: 0, max: 0 });
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.equal(percentiles(hundred).p95, 95);
    assert.equal(percentiles(hundred).p99, 99);
  });

  it('When children overlap, then self time counts the covered time once', () => {
    const parent = span('t', 'p', 's', 'internal', 0, 100);
    const a = span('t', 'a', 's', 'internal', 10, 40, parent);
    const b = span('t', 'b', 's', 'internal', 30, 60, parent);
    const late = span('t', 'late', 's', 'internal', 90, 150, parent);
    assert.equal(selfTime(parent, [a, b, late]), 100 - 50 - 10);
  });

  it('When an order crosses Kafka twice, then its critical path splits into work and queue waits that add up to the whole', () => {
    const { byStage, totalMs } = traceCriticalPath(fixture('cp'));
    assert.equal(totalMs, 200);
    const ms = Object.fromEntries([...byStage].map(([stage, v]) => [stage, v.ms]));
    assert.deepEqual(ms, {
      'gateway|POST /orders/online': 5,
      'gateway|send orders.placed': 3,
      'order validation|queue orders.placed': 12,
      'order validation|validate inventory': 30,
      'order validation|send kitchen.tickets': 5,
      'kitchen|queue kitchen.tickets': 45,
      'kitchen|prepare dish': 90,
      'kitchen|send orders.status': 10,
    });
  });

  it('When cooking dominates, then the verdict names the kitchen and its slowest step', () => {
    const report = analyzeTraces([fixture('k1'), fixture('k2')]);
    assert.equal(report.ready, 2);
    assert.equal(report.endToEnd.p50, 200);
    assert.equal(report.bottleneck?.station, 'kitchen');
    assert.equal(report.bottleneck?.stage, 'prepare dish');
    assert.ok(Math.abs(report.bottleneck!.stationShare - 145 / 200) < 1e-9);
    assert.match(
      verdictOf(report),
      /^Bottleneck: kitchen — 73% of the orders' critical path, 23% of it waiting for the kitchen to be free/,
    );
    assert.deepEqual(
      report.queues.map((q) => [q.topic, q.wait.p50]),
      [
        ['kitchen.tickets', 45],
        ['orders.placed', 12],
      ],
    );
    const stage = report.stages.find((s) => s.stage === 'process orders.placed')!;
    assert.equal(stage.self.p50, 5, 'self time excludes validate order and the send');
    const queue = report.stages.find((s) => s.stage === 'queue kitchen.tickets')!;
    assert.deepEqual([queue.station, queue.self.count, queue.self.p50], ['kitchen', 2, 45]);
  });

  it('When inventory checks are slow, then the verdict names validation and "validate inventory"', () => {
    const report = analyzeTraces([fixture('v1', { inventory: 400, cook: 20, kitchenQueue: 1 })]);
    assert.equal(report.bottleneck?.station, 'order validation');
    assert.equal(report.bottleneck?.stage, 'validate inventory');
  });

  it('When the report is rendered, then the text and the HTML carry the verdict and need no network', () => {
    const report = analyzeTraces([fixture('r1')]);
    const text = renderText(report, 'fixture');
    assert.match(text, /prepare dish\s+kitchen/);
    assert.ok(text.endsWith(verdictOf(report)));
    const html = renderHtml(report, 'fixture');
    assert.ok(html.includes('<svg'));
    assert.doesNotMatch(html, /(src|href)="https?:/);
  });

  it('When the verdict and the tables give the same share, then they print it the same way', () => {
    const report = analyzeTraces([fixture('s1'), fixture('s2')]);
    const text = renderText(report, 'fixture');
    const step = report.stages.find((s) => s.stage === report.bottleneck!.stage)!;
    const inVerdict = /"prepare dish" \(([\d.]+%) of the path/.exec(verdictOf(report))![1]!;
    const inTable = /^prepare dish\s+kitchen\s.*\s([\d.]+%)$/m.exec(text)![1]!;
    assert.equal(inVerdict, inTable, `verdict ${inVerdict}, table ${inTable} (share ${step.share})`);
    const stations = /^Stations: .*kitchen ([\d.]+%)/m.exec(text)![1]!;
    assert.ok(verdictOf(report).includes(`kitchen — ${stations} of the orders' critical path`), stations);
  });

  it('When no order finished, then the verdict says there is nothing to judge', () => {
    assert.match(verdictOf(analyzeTraces([])), /No completed orders/);
  });
});
