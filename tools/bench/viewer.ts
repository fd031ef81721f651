import { parseArgs } from 'node:util';
import { analyzeTraces } from '../traces/run-analysis.ts';
import { renderText } from '../bottlenecks/text.ts';
import { renderHtml } from '../bottlenecks/html.ts';
import { openTraceStore } from '../tracestore/store.ts';
import { startTraceStoreServer } from '../tracestore/server.ts';
import { bigTrace, orderTrace } from '../traces/synthetic-orders.ts';
import { launchChromium } from './browser.ts';

// `npm run bench:viewer`: the bottleneck report on a 12,000-order run and the trace store's pages on a full store,
// in this process, against the targets (analysis ≤ 30 s; list and 1000-span trace page ≤ 1 s each).
const { values } = parseArgs({
  options: {
    orders: { type: 'string', default: '12000' },
    traces: { type: 'string', default: '10200' },
    rounds: { type: 'string', default: '3' },
  },
});
const say = (line: string) => process.stdout.write(`${line}\n`);
const rounds = Math.min(10, Math.max(1, Number(values.rounds)));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const timed = async <T>(work: () => T | Promise<T>) => {
  const started = performance.now();
  const result = await work();
  return { result, ms: performance.now() - started };
};

const orders = Math.min(100_000, Number(values.orders));
const run = Array.from({ length: orders }, (_, i) =>
  orderTrace({ startMs: i * 5, kitchenWaitMs: i % 400, runId: 'bench', dishes: 5 }),
);
const spans = run.reduce((n, list) => n + list.length, 0);
const analyses: number[] = [];
let report = analyzeTraces([]);
for (let i = 0; i < rounds; i++) {
  const { result, ms } = await timed(() => analyzeTraces(run));
  analyses.push(ms);
  report = result;
}
const text = await timed(() => renderText(report, 'bench'));
const html = await timed(() => renderHtml(report, 'bench', { uiUrl: 'http://127.0.0.1:16686', runId: 'bench' }));
say(
  `report: analyzeTraces on ${orders} orders (${spans} spans): ${analyses.map((ms) => ms.toFixed(0)).join(', ')} ms (median ${median(analyses).toFixed(0)} ms; target 30000 ms); text ${text.ms.toFixed(0)} ms, HTML ${html.ms.toFixed(0)} ms`,
);
run.length = 0;

const traces = Math.min(50_000, Number(values.traces));
const store = await openTraceStore({ maxSpans: 2_000_000 });
for (let i = 0; i < traces; i++) store.add(orderTrace({ startMs: Date.now() - 3_600_000 + i * 100 }));
const big = bigTrace(1000);
store.add(big);
const server = await startTraceStoreServer(store, { otlpPort: 0, queryPort: 0 });
try {
  const fetchMs = async (path: string) => {
    const figures: number[] = [];
    for (let i = 0; i < rounds; i++)
      figures.push((await timed(async () => (await fetch(`${server.queryUrl}${path}`)).text())).ms);
    return figures.map((ms) => ms.toFixed(0)).join(', ');
  };
  say(`store: ${traces + 1} traces, ${store.spanCount} spans`);
  say(
    `list page (server, first call summarises every trace): ${await fetchMs('/')} ms; filtered by run id: ${await fetchMs('/?run=none&minDuration=1s')} ms`,
  );
  say(`trace page, ${big.length} spans (server): ${await fetchMs(`/trace/${big[0]!.traceId}`)} ms`);
  const browser = await launchChromium();
  if (!browser) say('browser: chromium not installed, browser figures skipped');
  else {
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const painted = async (path: string) => {
        const figures: number[] = [];
        for (let i = 0; i < rounds; i++) {
          const { ms } = await timed(async () => {
            await page.goto(`${server.queryUrl}${path}`, { waitUntil: 'load' });
            await page.evaluate(
              'new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))',
            );
          });
          figures.push(ms);
        }
        return `${figures.map((ms) => ms.toFixed(0)).join(', ')} ms (median ${median(figures).toFixed(0)} ms; target 1000 ms)`;
      };
      say(`browser, request to painted: list ${await painted('/')}`);
      // The scatter times its own drawing (canvas data-paint-ms): every matching trace is a dot.
      const scatter: number[] = [];
      for (let i = 0; i < rounds; i++) {
        await page.goto(`${server.queryUrl}/`, { waitUntil: 'load' });
        scatter.push(Number(await page.getAttribute('#scatter', 'data-paint-ms')));
      }
      say(
        `browser, duration scatter of ${await page.getAttribute('#scatter', 'data-dots')} dots painted in ${scatter.map((ms) => ms.toFixed(0)).join(', ')} ms (median ${median(scatter).toFixed(0)} ms; target 300 ms)`,
      );
      say(`browser, request to painted: trace of ${big.length} spans ${await painted(`/trace/${big[0]!.traceId}`)}`);
    } finally {
      await browser.close();
    }
  }
} finally {
  await server.close();
}
