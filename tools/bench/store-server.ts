import { join } from 'node:path';
import { openTraceStore } from '../tracestore/store.ts';
import { startTraceStoreServer } from '../tracestore/server.ts';

// The trace store alone for the ingest benchmark: its defaults, its file in the folder given, free ports.
const store = await openTraceStore({ file: join(process.argv[2]!, 'spans.jsonl') });
// ITUNA_BENCH_MONITOR=off leaves the live monitor out, to measure what it costs.
const monitor = process.env.ITUNA_BENCH_MONITOR !== 'off';
const server = await startTraceStoreServer(store, { otlpPort: 0, queryPort: 0, monitor });
console.log(`trace store queries at ${server.queryUrl}`);
console.log(`trace store listening at ${server.otlpUrl}`);
process.once('SIGTERM', () => void server.close().then(() => process.exit(0)));
