import { configOrExit, integer, loadConfig } from '../common/config.ts';
import { openTraceStore } from './store.ts';
import { startTraceStoreServer } from './server.ts';

// `npm run tracestore`: the embedded trace store alone (OTLP/HTTP on 4318, queries and pages on 16686).
const config = configOrExit(() => loadConfig({ ITUNA_TRACESTORE_MAX_SPANS: integer(200_000, 1000, 10_000_000) }, process.env));
const store = await openTraceStore({ maxSpans: config.ITUNA_TRACESTORE_MAX_SPANS, file: new URL('../.data/traces/spans.jsonl', import.meta.url).pathname });
const server = await startTraceStoreServer(store);
console.error(`trace store: OTLP ${server.otlpUrl}/v1/traces, traces ${server.queryUrl} (${store.spanCount} spans kept)`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void server.close().then(() => process.exit(0)));
