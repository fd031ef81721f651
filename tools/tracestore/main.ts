import { configOrExit, loadConfig } from '../../common/config.ts';
import { kafkaBrokers } from '../../common/kafka/client.ts';
import { monitorKafka } from './monitor-feed.ts';
import { TRACE_STORE_CONFIG, traceStoreOptions } from './config.ts';
import { openTraceStore } from './store.ts';
import { startTraceStoreServer } from './server.ts';

// `npm run tracestore`: the embedded trace store alone (OTLP/HTTP on 4318, queries and pages on 16686).
const config = configOrExit(() => loadConfig(TRACE_STORE_CONFIG, process.env));
const store = await openTraceStore(traceStoreOptions(config));
// With KAFKA_BROKERS (or the local broker's default) the live monitor also shows the consumer groups' lag.
const kafka = configOrExit(() => monitorKafka(kafkaBrokers(process.env.KAFKA_BROKERS), process.env));
const server = await startTraceStoreServer(store, { kafka });
console.error(
  `trace store: OTLP ${server.otlpUrl}/v1/traces, traces ${server.queryUrl} (${store.spanCount} spans kept, ${(store.diskBytes / 1024 / 1024).toFixed(1)} of ${config.ITUNA_TRACESTORE_MAX_DISK_MB} MB of disk)`,
);
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => void server.close().then(() => process.exit(0)));
