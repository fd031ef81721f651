import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTraceQueryClient } from '../../../tools/traces/query-client.ts';
import { runLoad } from '../../../load/runner.ts';
import type { Scenario } from '../../../load/scenarios.js';
import { analyzeTraces } from '../../../tools/traces/run-analysis.ts';
import type { BottleneckReport } from '../../../tools/traces/run-analysis.ts';
import { renderText } from '../../../tools/bottlenecks/text.ts';
import { openTraceStore } from '../../../tools/tracestore/store.ts';
import { startTraceStoreServer } from '../../../tools/tracestore/server.ts';
import type { TraceStoreServer } from '../../../tools/tracestore/server.ts';
import { testBrokers } from '../../support/broker.ts';
import { startPipeline, waitUntilSettled } from '../../support/pipeline.ts';
import { verdictOf } from '../../../tools/traces/wording.ts';

// A short real load against a pipeline with one stage made slow must make the report name that stage.
const load: Scenario = {
  description: 'test load',
  startRate: 25,
  stages: [{ seconds: 5, target: 25 }],
  maxInFlight: 100,
};

let brokers: string;
let store: TraceStoreServer;

async function reportFor(
  env: Record<string, string>,
  runId: string,
  t: { diagnostic(message: string): void },
): Promise<BottleneckReport> {
  const pipeline = await startPipeline(brokers, store.otlpUrl, env);
  try {
    const summary = await runLoad({ baseUrl: pipeline.gatewayUrl, scenario: load, runId });
    assert.equal(summary.byStatus[202], summary.sent, JSON.stringify(summary.byStatus));
    await waitUntilSettled(
      pipeline.gatewayUrl,
      summary.accepted.map((a) => a.orderId),
      90_000,
    );
    await sleep(1000); // the last batch of spans
    const client = createTraceQueryClient(store.queryUrl);
    const traces = (
      await client.findTraces({ service: 'ituna-gateway', since: new Date(Date.now() - 600_000), limit: 10_000 })
    ).filter((spans) => spans.some((s) => s.attributes['ituna.run.id'] === runId));
    assert.equal(traces.length, summary.accepted.length, 'one trace per accepted order');
    const untagged = traces.flat().filter((s) => s.attributes['ituna.run.id'] !== runId);
    assert.deepEqual(
      untagged.map((s) => `${s.service}/${s.name}`),
      [],
      'every span of the run carries its ituna.run.id baggage',
    );
    const report = analyzeTraces(traces);
    t.diagnostic(`\n${renderText(report, `run ${runId}`)}`);
    return report;
  } finally {
    await pipeline.stop();
  }
}

describe('bottleneck hunting on a real pipeline', { timeout: 240_000 }, () => {
  before(async () => {
    brokers = await testBrokers();
    store = await startTraceStoreServer(await openTraceStore(), { otlpPort: 0, queryPort: 0 });
  });
  after(() => store?.close());

  it('When inventory checks are slow, then the report names validation and "validate inventory"', async (t) => {
    const report = await reportFor(
      {
        ITUNA_DELAYS: 'address=2,name=1,inventory=120~20,cook=2',
        ITUNA_VALIDATION_CONCURRENCY: '2',
        ITUNA_KITCHEN_CHEFS: '4',
      },
      `slow-inventory-${Date.now()}`,
      t,
    );
    assert.equal(report.bottleneck?.station, 'order validation', verdictOf(report));
    assert.equal(report.bottleneck?.stage, 'validate inventory', verdictOf(report));
    assert.match(verdictOf(report), /validate inventory/);
  });

  it('When one chef cooks slowly, then the report names the kitchen', async (t) => {
    const report = await reportFor(
      { ITUNA_DELAYS: 'address=1,name=1,inventory=1,cook=30~5', ITUNA_KITCHEN_CHEFS: '1' },
      `one-chef-${Date.now()}`,
      t,
    );
    assert.equal(report.bottleneck?.station, 'kitchen', verdictOf(report));
    assert.ok(report.bottleneck!.waitShare > 0.2, `orders should queue for the one chef: ${verdictOf(report)}`);
    assert.match(report.bottleneck!.stage, /^(prepare dish|cook order)$/, verdictOf(report));
    assert.match(verdictOf(report), /^Bottleneck: kitchen/);
  });
});
