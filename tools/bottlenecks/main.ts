import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { configOrExit, httpUrl, loadConfig } from '../../common/config.ts';
import { createKafka, kafkaBrokers, kafkaSecurity, kafkaSecuritySchema } from '../../common/kafka/client.ts';
import { createLogger } from '../../common/logger.ts';
import { createTraceQueryClient } from '../traces/query-client.ts';
import { analyzeTraces } from '../traces/run-analysis.ts';
import { serviceMap } from '../traces/service-map.ts';
import { compareReports } from '../traces/compare-runs.ts';
import { snapshotConsumerGroups } from '../traces/consumer-groups.ts';
import { renderCompareText, renderConsumerGroupsText, renderServiceMapText, renderText } from './text.ts';
import { renderCompareHtml, renderHtml } from './html.ts';
import type { ConsumerGroupsView } from '../traces/consumer-groups.ts';

// `npm run bottlenecks -- --run <id> | --since 5m [--against <run id>] [--html report.html]`
const usage =
  'usage: npm run bottlenecks -- (--run <run id> | --since <5m|30s|2h>) [--against <run id>] [--html <file>] [--limit <traces>]';
const { values } = parseArgs({
  options: {
    run: { type: 'string' },
    against: { type: 'string' },
    since: { type: 'string' },
    html: { type: 'string' },
    limit: { type: 'string', default: '5000' },
  },
});
const config = configOrExit(() =>
  loadConfig(
    {
      JAEGER_QUERY_URL: httpUrl('http://localhost:16686'),
      JAEGER_UI_URL: httpUrl('http://localhost:16686'),
      KAFKA_BROKERS: kafkaBrokers,
      ...kafkaSecuritySchema,
    },
    process.env,
  ),
);
const security = configOrExit(() => kafkaSecurity(config));

const window = /^(\d+)(s|m|h)$/.exec(values.since ?? (values.run ? '1h' : ''));
if (!window) {
  console.error(usage);
  process.exit(2);
}
const since = new Date(
  Date.now() - Number(window[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[window[2] as 's' | 'm' | 'h'],
);

// The consumer groups' lag is read while the traces are: a Kafka that does not answer costs at most the time bound.
// Few retries and short timeouts, so that no reconnect outlives the report.
const kafka = createKafka(
  'ituna-bottlenecks',
  config.KAFKA_BROKERS,
  createLogger('ituna-bottlenecks', 'silent'),
  security,
  {
    retry: { initialRetryTime: 100, retries: 2 },
    connectionTimeout: 1000,
    requestTimeout: 4000,
  },
);
const consumerGroups: Promise<ConsumerGroupsView> = snapshotConsumerGroups(kafka, { timeoutMs: 5000 }).then(
  (snapshot) => ({
    brokers: config.KAFKA_BROKERS.join(','),
    snapshot,
  }),
);

const client = createTraceQueryClient(config.JAEGER_QUERY_URL);
const tracesOf = async (run: string | undefined) => {
  // Every span of a load-run order carries the run id from the client's baggage, so the backend finds the run's traces.
  const traces = await client.findTraces({
    service: 'ituna-gateway',
    since,
    limit: Number(values.limit),
    attributes: run ? { 'ituna.run.id': run } : undefined,
  });
  // Jaeger before 2.19 ignores query.attributes and answers the whole window.
  return run ? traces.filter((spans) => spans.some((s) => s.attributes['ituna.run.id'] === run)) : traces;
};
const title = values.run ? `run ${values.run}` : `last ${values.since}`;
const uiUrl = config.JAEGER_UI_URL.replace(/\/$/, '');
/** The run's traces, or the reason they cannot be read, said in one line (no stack trace for an unreachable backend). */
const tracesOrExit = (run: string | undefined) =>
  tracesOf(run).catch((error: Error) => {
    console.error(
      `Cannot read traces at JAEGER_QUERY_URL (${error.message}). Start the trace store (npm start, or npm run tracestore) or Jaeger, or point JAEGER_QUERY_URL at one.`,
    );
    process.exit(1);
  });
const traces = await tracesOrExit(values.run);
const report = analyzeTraces(traces);
const groups = await consumerGroups;
let html: string;
if (values.against) {
  const comparison = compareReports(
    { title: `run ${values.against}`, report: analyzeTraces(await tracesOrExit(values.against)) },
    { title, report },
  );
  console.log(renderCompareText(comparison));
  html = renderCompareHtml(comparison, { uiUrl, consumerGroups: groups });
} else {
  console.log(renderText(report, title));
  console.log(`\n${renderServiceMapText(serviceMap(traces, { bottleneck: report.bottleneck?.station }))}`);
  html = renderHtml(report, title, { uiUrl, runId: values.run, consumerGroups: groups });
}
console.log(`\n${renderConsumerGroupsText(groups)}`);
if (values.html) {
  await writeFile(values.html, html);
  console.log(`\nHTML report: ${values.html}`);
}
