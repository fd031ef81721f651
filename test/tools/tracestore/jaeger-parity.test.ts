import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { startJaeger } from '../../../tools/jaeger/build.ts';
import type { RunningJaeger } from '../../../tools/jaeger/build.ts';
import { runLoad } from '../../../load/runner.ts';
import type { Scenario } from '../../../load/scenarios.js';
import { createTraceQueryClient } from '../../../tools/traces/query-client.ts';
import { WARNINGS_ATTRIBUTE } from '../../../tools/tracestore/jaeger-view.ts';
import { openTraceStore } from '../../../tools/tracestore/store.ts';
import { startTraceStoreServer } from '../../../tools/tracestore/server.ts';
import type { TraceStoreServer } from '../../../tools/tracestore/server.ts';
import { testBrokers } from '../../support/broker.ts';
import { parityExport } from '../../support/parity-export.ts';
import type { ParityExport } from '../../support/parity-export.ts';
import { startPipeline, waitUntilSettled } from '../../support/pipeline.ts';

// The same OTLP export goes into the embedded store and into a real Jaeger v2 (built with Go when not cached; without
// Go this fails, it does not skip), and every api/v3 question is asked of both. What may differ, and is normalised:
// - how spans are grouped into resource entries (each span is compared with its resource and scope, in answer order);
// - the order of services and operations (Jaeger lists them from a Go map, in random order);
// - Jaeger 2.13's memory store hands its adjusters the stored trace itself, so every read appends its warnings to
//   `@jaeger@warnings` again (and sorts that attribute first, where the first read has it last); the store warns once
//   per read, so a warning repeated in Jaeger's answer counts once and the attribute is compared in last place;
// - the content-type header (Jaeger 2.13 sends text/plain), which is not compared.
// Jaeger 2.13 ignores query.attributes (2.19 added it); those searches are checked against the traces Jaeger returns
// by id and the matching rules of Jaeger 2.19's memory store.

let jaeger: RunningJaeger;
let store: TraceStoreServer;
let x: ParityExport;

const rfc3339 = (nanos: bigint) => {
  const seconds = new Date(Number(nanos / 1_000_000_000n) * 1000).toISOString().slice(0, 19);
  return `${seconds}.${(nanos % 1_000_000_000n).toString().padStart(9, '0')}Z`;
};

type Answer = { status: number; body: unknown };

async function ask(baseUrl: string, path: string): Promise<Answer> {
  const response = await fetch(`${baseUrl}${path}`);
  const text = await response.text();
  return { status: response.status, body: text.trim().startsWith('<') ? 'html' : JSON.parse(text) };
}

/** An answer with the differences listed above taken out. */
function normalised({ status, body }: Answer): Answer {
  const b = body as {
    result?: { resourceSpans: any[] };
    services?: string[];
    operations?: Array<{ name: string; spanKind?: string }>;
  };
  if (b?.result) {
    const traceOrder: string[] = [];
    const spans = (b.result.resourceSpans ?? []).flatMap((rs) =>
      (rs.scopeSpans ?? []).flatMap((ss: any) =>
        (ss.spans ?? []).map((span: any) => {
          if (!traceOrder.includes(span.traceId)) traceOrder.push(span.traceId);
          const warnings = span.attributes?.find((kv: any) => kv.key === WARNINGS_ATTRIBUTE);
          const attributes = warnings && [
            ...span.attributes.filter((kv: any) => kv !== warnings),
            {
              key: WARNINGS_ATTRIBUTE,
              value: {
                arrayValue: {
                  values: [...new Map(warnings.value.arrayValue.values.map((v: any) => [v.stringValue, v])).values()],
                },
              },
            },
          ];
          return {
            resource: rs.resource,
            resourceSchemaUrl: rs.schemaUrl,
            scope: ss.scope,
            span: { ...span, ...(attributes ? { attributes } : {}) },
          };
        }),
      ),
    );
    return { status, body: { traceOrder, spans } };
  }
  if (b?.services) return { status, body: { services: [...b.services].sort() } };
  if (b?.operations)
    return {
      status,
      body: {
        operations: [...b.operations].sort((p, q) =>
          `${p.name}/${p.spanKind}`.localeCompare(`${q.name}/${q.spanKind}`),
        ),
      },
    };
  return { status, body };
}

/** A normalised trace answer with its spans sorted by span id. */
function inSpanIdOrder({ status, body }: Answer): Answer {
  const b = body as { traceOrder: string[]; spans: Array<{ span: { spanId: string } }> };
  return { status, body: { ...b, spans: [...b.spans].sort((p, q) => p.span.spanId.localeCompare(q.span.spanId)) } };
}

/** The export's spans of one trace only, as a separate export would send them. */
function onlyTrace(body: ParityExport['body'], traceId: string) {
  return {
    resourceSpans: body.resourceSpans
      .map((rs: any) => ({
        ...rs,
        scopeSpans: rs.scopeSpans
          .map((ss: any) => ({ ...ss, spans: ss.spans.filter((s: any) => s.traceId === traceId) }))
          .filter((ss: any) => ss.spans.length),
      }))
      .filter((rs: any) => rs.scopeSpans.length),
  };
}

async function post(otlpUrl: string, body: unknown) {
  const response = await fetch(`${otlpUrl}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(response.status, 200, await response.text());
}

describe('api/v3 parity between the embedded store and Jaeger v2', { timeout: 1_200_000 }, () => {
  before(async () => {
    jaeger = await startJaeger({ log: (line) => console.error(`[jaeger] ${line}`) });
    store = await startTraceStoreServer(await openTraceStore(), { otlpPort: 0, queryPort: 0 });
    x = parityExport();
    // One export per trace, oldest first, so "newest first" has one right answer; then one span sent twice.
    const gatewayOnly = onlyTrace(x.body, x.order);
    const duplicate = {
      resourceSpans: [
        {
          ...gatewayOnly.resourceSpans[0],
          scopeSpans: [
            {
              ...gatewayOnly.resourceSpans[0].scopeSpans[0],
              spans: [gatewayOnly.resourceSpans[0].scopeSpans[0].spans[1]],
            },
          ],
        },
      ],
    };
    for (const otlpUrl of [jaeger.otlpUrl, store.otlpUrl]) {
      for (const traceId of [x.other, x.direct, x.order]) await post(otlpUrl, onlyTrace(x.body, traceId));
      await post(otlpUrl, duplicate);
    }
  });
  after(async () => {
    await jaeger?.stop();
    await store?.close();
  });

  it('When both are asked the same api/v3 questions, then they answer alike, field by field', async (t) => {
    const min = rfc3339(x.firstNanos - 1n);
    const max = rfc3339(x.lastNanos + 1n);
    const window = `query.start_time_min=${min}&query.start_time_max=${max}`;
    const search = (extra: string) => `/api/v3/traces?${window}&query.num_traces=20&${extra}`;
    const httpStart = x.firstNanos + 1n; // the root span starts 1 ns after the export's base time
    const directStart = x.firstNanos + 990_000_001n;
    const questions = [
      // Raw first: Jaeger 2.13's adjusters change its stored copy on the first adjusted read.
      `/api/v3/traces/${x.order}?raw_traces=true`,
      search('query.raw_traces=true&query.service_name=ituna-kitchen'),
      `/api/v3/traces/${x.order}`,
      `/api/v3/traces/${x.direct}`,
      `/api/v3/traces/${x.other}`,
      `/api/v3/traces/${x.direct.toUpperCase()}`,
      `/api/v3/traces/${x.order}?start_time=${min}&end_time=${max}`,
      `/api/v3/traces/${'0'.repeat(31)}1`,
      `/api/v3/traces/abc`,
      `/api/v3/traces/xyz`,
      `/api/v3/traces/${'g'.repeat(20)}`,
      `/api/v3/traces/${'a'.repeat(33)}`,
      `/api/v3/traces/${x.order}?start_time=yesterday`,
      `/api/v3/traces/${x.order}?raw_traces=maybe`,
      '/api/v3/services',
      '/api/v3/operations?service=ituna-gateway',
      '/api/v3/operations?service=ituna-order-validation',
      '/api/v3/operations?service=ituna-kitchen&span_kind=consumer',
      '/api/v3/operations?service=ituna-gateway&span_kind=server',
      '/api/v3/operations?service=ituna-gateway&span_kind=internal',
      '/api/v3/operations?service=nobody',
      '/api/v3/operations',
      search('query.service_name=ituna-kitchen'),
      search('query.service_name=ituna-gateway'),
      search('query.service_name=ituna-order-validation'),
      search(''),
      search('query.service_name=ituna-kitchen&query.operation_name=cook%20order'),
      search('query.operation_name=validate%20order'),
      search('query.operation_name=no%20such%20span'),
      `/api/v3/traces?${window}&query.num_traces=1`,
      `/api/v3/traces?${window}&query.num_traces=2&query.service_name=ituna-kitchen`,
      search('query.service_name=ituna-kitchen&query.duration_min=800ms'),
      search('query.service_name=ituna-kitchen&query.duration_max=100ms'),
      search('query.service_name=ituna-kitchen&query.duration_min=100ms&query.duration_max=0.2s'),
      search('query.duration_min=1.5s'),
      search('query.service_name=ituna-order-validation&query.duration_min=260ms'),
      search('query.service_name=ituna-order-validation&query.duration_min=260000001ns'),
      search('query.service_name=ituna-order-validation&query.duration_min=260.001998ms'),
      search('query.service_name=ituna-order-validation&query.duration_min=260.001999ms'),
      search('query.duration_min=1m&query.duration_max=2h45m'),
      // Nanosecond bounds: the root span starts at httpStart exactly.
      `/api/v3/traces?query.start_time_min=${rfc3339(httpStart)}&query.start_time_max=${max}&query.num_traces=5&query.operation_name=POST%20/orders/online`,
      `/api/v3/traces?query.start_time_min=${rfc3339(httpStart + 1n)}&query.start_time_max=${max}&query.num_traces=5&query.operation_name=POST%20/orders/online`,
      `/api/v3/traces?query.start_time_min=${min}&query.start_time_max=${rfc3339(directStart)}&query.num_traces=5&query.operation_name=POST%20/orders/direct`,
      `/api/v3/traces?query.start_time_min=${min}&query.start_time_max=${rfc3339(directStart - 1n)}&query.num_traces=5&query.operation_name=POST%20/orders/direct`,
      `/api/v3/traces?query.start_time_min=${min.replace('Z', '+00:00')}&query.start_time_max=${max.replace(/T(\d\d)/, (_, h) => `T${String(Number(h) + 1).padStart(2, '0')}`).replace('Z', '+01:00')}&query.num_traces=5`,
      `/api/v3/traces?query.start_time_min=${max}&query.start_time_max=${min}&query.num_traces=5`,
      // Errors: a missing or malformed parameter, in the order Jaeger checks them.
      '/api/v3/traces?query.service_name=ituna-kitchen',
      `/api/v3/traces?query.start_time_min=${min}`,
      `/api/v3/traces?query.start_time_max=${max}&query.start_time_min=yesterday`,
      `/api/v3/traces?query.start_time_min=${min}&query.start_time_max=2026-13-01T00:00:00Z`,
      `/api/v3/traces?query.start_time_min=${min}&query.start_time_max=2026-02-30T00:00:00Z`,
      `/api/v3/traces?query.start_time_min=${min}&query.start_time_max=2026-11-25T10:00:00`,
      `/api/v3/traces?query.start_time_min=${min}&query.start_time_max=2026-11-25T10:00:00Zulu`,
      `/api/v3/traces?query.start_time_min=${min}&query.start_time_max=2026-11-25 10:00:00Z`,
      `/api/v3/traces?${window}&query.num_traces=x`,
      `/api/v3/traces?${window}&query.num_traces=0`,
      `/api/v3/traces?${window}&query.num_traces=-3`,
      search('query.duration_min=5x'),
      search('query.duration_min=1'),
      search('query.duration_max=.s'),
      search('query.duration_max=99999999999h'),
      search('query.raw_traces=maybe'),
      search('query.duration_min=-1s'),
      search('query.duration_min=%2B5ms'),
      search('query.duration_min=.5s&query.service_name=ituna-kitchen'),
      search('query.duration_min=00'),
      search('query.duration_min=1.5e3ms'),
      search('query.duration_max=1h30m'),
      search('query.duration_max=3%C2%B5s'),
      search('query.num_traces=%2B2'),
      search('query.num_traces=99999999999999999999'),
      `/api/v3/traces?query.start_time_min=2026-11-25T1:00:00.5%2B05:30&query.start_time_max=${max}&query.num_traces=5`,
      `/api/v3/traces?query.start_time_min=2026-11-25T10:00:00,5Z&query.start_time_max=2026-11-25T24:00:00Z&query.num_traces=5`,
      `/api/v3/traces?query.start_time_min=2026-11-25T10:61:00Z&query.start_time_max=${max}&query.num_traces=5`,
      `/api/v3/traces?query.start_time_min=0001-01-01T00:00:00Z&query.start_time_max=${max}&query.num_traces=5&query.service_name=ituna-kitchen`,
      `/api/v3/traces?query.start_time_min=${min}&query.start_time_max=9999-12-31T23:59:59.999999999-23:59&query.num_traces=5&query.service_name=ituna-kitchen`,
      `/api/v3/traces?query.start_time_min=${min}&query.start_time_max=2026-11-25T10:00:00%2B0100&query.num_traces=5`,
      `/api/v3/traces/${x.order}?end_time=2026-11-25T10:00:00.123456789123Z`,
    ];
    let compared = 0;
    for (const question of questions) {
      const [fromJaeger, fromStore] = await Promise.all([
        ask(jaeger.queryUrl, question),
        ask(store.queryUrl, question),
      ]);
      assert.deepEqual(
        normalised(fromStore),
        normalised(fromJaeger),
        `GET ${question}\nJaeger: ${JSON.stringify(fromJaeger.body).slice(0, 600)}\nstore:  ${JSON.stringify(fromStore.body).slice(0, 600)}`,
      );
      compared++;
    }
    t.diagnostic(`${compared} api/v3 questions answered alike`);
  });

  it('When traces are searched by attributes, then the store finds those with one span having them all, as Jaeger 2.19+ does', async () => {
    const search = (attributes: Record<string, string>) =>
      `/api/v3/traces?query.start_time_min=${rfc3339(x.firstNanos - 1n)}&query.start_time_max=${rfc3339(x.lastNanos + 1n)}&query.num_traces=20&query.attributes=${encodeURIComponent(JSON.stringify(attributes))}`;
    const traceIds = async (attributes: Record<string, string>) => {
      const answer = normalised(await ask(store.queryUrl, search(attributes)));
      return answer.status === 404 ? [] : (answer.body as { traceOrder: string[] }).traceOrder;
    };
    const cases: Array<[Record<string, string>, string[]]> = [
      [{ 'ituna.run.id': 'run-direct' }, [x.direct]],
      [{ 'ituna.run.id': 'run-parity', 'ituna.order.total': '12.75' }, [x.order]],
      [{ 'ituna.run.id': 'run-parity', 'ituna.queue.wait_ms': '85' }, [x.order]],
      [{ 'ituna.order.id': 'o-parity', 'ituna.queue.wait_ms': '85' }, []], // on two different spans
      [{ 'exception.type': 'OutOfStock' }, [x.order]], // an event's attribute
      [{ 'link.reason': 'same customer' }, [x.order]], // a link's attribute
      [{ 'service.instance.id': 'nope' }, []],
      [{ 'resource.host.name': 'gateway-1' }, [x.order]],
      [{ 'scope.name': 'ituna', 'ituna.run.id': 'run-other' }, [x.other]],
      [{ 'span.kind': 'consumer', 'ituna.run.id': 'run-direct' }, [x.direct]],
      [{ 'span.status': 'error' }, [x.order]],
      [{ error: 'true' }, [x.order]],
      [{ error: 'false', 'http.request.method': 'POST' }, [x.order]], // the root's status is OK
      [{ 'ituna.order.weight': '2' }, [x.order]], // a double that is a whole number
      [{ 'ituna.order.sequence': '9007199254740993' }, [x.order]], // an int beyond 2^53
      [{ 'ituna.order.items': '["tuna-nigiri","miso-soup"]' }, [x.order]],
      [{ 'ituna.order.express': 'true' }, [x.order]],
    ];
    for (const [attributes, expected] of cases)
      assert.deepEqual(await traceIds(attributes), expected, JSON.stringify(attributes));

    // A found trace is the trace Jaeger gives by id.
    const found = normalised(await ask(store.queryUrl, search({ 'ituna.run.id': 'run-direct' })));
    assert.deepEqual(found.body, normalised(await ask(jaeger.queryUrl, `/api/v3/traces/${x.direct}`)).body);

    const malformed = await ask(
      store.queryUrl,
      search({}).replace(/query\.attributes=[^&]*/, 'query.attributes=%5B1%5D'),
    );
    assert.deepEqual(malformed, {
      status: 400,
      body: {
        error: {
          httpCode: 400,
          message:
            'malformed parameter query.attributes: json: cannot unmarshal array into Go value of type map[string]string',
        },
      },
    });
  });

  it('When the query client reads a trace from both, then it gets the same spans with nanosecond times', async () => {
    const [fromJaeger, fromStore] = await Promise.all([
      createTraceQueryClient(jaeger.queryUrl).trace(x.order),
      createTraceQueryClient(store.queryUrl).trace(x.order),
    ]);
    // Each warning once: see the note on Jaeger 2.13's adjusters at the top.
    const byId = (spans: typeof fromStore) =>
      [...spans]
        .sort((a, b) => a.spanId.localeCompare(b.spanId))
        .map((s) => {
          const warnings = s.attributes[WARNINGS_ATTRIBUTE];
          return Array.isArray(warnings)
            ? { ...s, attributes: { ...s.attributes, [WARNINGS_ATTRIBUTE]: [...new Set(warnings)] } }
            : s;
        });
    assert.deepEqual(byId(fromStore), byId(fromJaeger));
    const root = fromStore.find((s) => s.spanId === x.spans.http)!;
    assert.equal(root.startTimeUnixNano, (x.firstNanos + 1n).toString());
    assert.equal(root.endTimeUnixNano, (x.firstNanos + 42_000_999n).toString());
  });
});

/** An OTLP/HTTP endpoint that passes every export on to each of `targets` (their OTLP base URLs). */
async function startFanOut(targets: string[]): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const answers = await Promise.all(
      targets.map((target) =>
        fetch(`${target}${request.url}`, {
          method: 'POST',
          headers: { 'content-type': request.headers['content-type'] ?? '' },
          body: Buffer.concat(chunks),
        }),
      ),
    );
    const failed = answers.find((a) => !a.ok);
    response
      .writeHead(failed?.status ?? 200, { 'content-type': 'application/json' })
      .end(failed ? await failed.text() : '{}');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    close: async () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

describe('the bottleneck report over a real Jaeger v2', { timeout: 1_200_000 }, () => {
  let brokers: string;
  let live: RunningJaeger;
  let liveStore: TraceStoreServer;
  before(async () => {
    brokers = await testBrokers();
    live = await startJaeger();
    liveStore = await startTraceStoreServer(await openTraceStore(), { otlpPort: 0, queryPort: 0 });
  });
  after(async () => {
    await live?.stop();
    await liveStore?.close();
  });

  it('When one chef cooks slowly on a live pipeline, then `node report/main.ts --run` names the kitchen over Jaeger, and says the same over the store', async (t) => {
    const load: Scenario = {
      description: 'test load',
      startRate: 20,
      stages: [{ seconds: 4, target: 20 }],
      maxInFlight: 100,
    };
    const runId = `jaeger-one-chef-${Date.now()}`;
    // The SDK's own exports reach Jaeger and the store alike.
    const fanOut = await startFanOut([live.otlpUrl, liveStore.otlpUrl]);
    const pipeline = await startPipeline(brokers, fanOut.url, {
      ITUNA_DELAYS: 'address=1,name=1,inventory=1,cook=30~5',
      ITUNA_KITCHEN_CHEFS: '1',
    });
    let orderIds: string[];
    try {
      const summary = await runLoad({ baseUrl: pipeline.gatewayUrl, scenario: load, runId });
      assert.equal(summary.byStatus[202], summary.sent, JSON.stringify(summary.byStatus));
      orderIds = summary.accepted.map((a) => a.orderId);
      await waitUntilSettled(pipeline.gatewayUrl, orderIds, 90_000);
      await sleep(1500); // the last batch of spans
    } finally {
      await pipeline.stop();
      await fanOut.close();
    }
    const report = async (queryUrl: string) =>
      (
        await promisify(execFile)(process.execPath, ['tools/bottlenecks/main.ts', '--run', runId, '--since', '10m'], {
          cwd: new URL('../../..', import.meta.url).pathname,
          // The test's broker, where the stopped pipeline left its groups as they are: both reports read the same lag.
          env: { ...process.env, JAEGER_QUERY_URL: queryUrl, KAFKA_BROKERS: brokers },
        })
      ).stdout;
    const [overJaeger, overStore] = [await report(live.queryUrl), await report(liveStore.queryUrl)];
    t.diagnostic(overJaeger);
    assert.match(overJaeger, /Bottleneck: kitchen/);
    assert.equal(overStore, overJaeger);

    // Real SDK spans, read back by id from both.
    const traceIds = (
      await createTraceQueryClient(liveStore.queryUrl).findTraces({
        since: new Date(Date.now() - 600_000),
        attributes: { 'ituna.run.id': runId },
      })
    ).map((spans) => spans[0]!.traceId);
    assert.equal(traceIds.length, orderIds.length, 'one trace per order');
    for (const traceId of traceIds.slice(0, 5)) {
      const question = `/api/v3/traces/${traceId}`;
      const [fromJaeger, fromStore] = await Promise.all([
        ask(live.queryUrl, question),
        ask(liveStore.queryUrl, question),
      ]);
      // Live services export on their own schedules, so the two backends may receive (and list) the spans in
      // different orders: here only the order is left out of the comparison, every span's content stays in it.
      assert.deepEqual(inSpanIdOrder(normalised(fromStore)), inSpanIdOrder(normalised(fromJaeger)), `GET ${question}`);
    }
  });
});
