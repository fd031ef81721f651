import { join } from 'node:path';
import { openTraceStore } from '../tracestore/store.ts';
import { startTraceStoreServer } from '../tracestore/server.ts';

// The trace store alone for the ingest benchmark: its defaults, its file in the folder given, free ports.
const store = await openTraceStore({ file: join(process.argv[2]!, 'spans.jsonl') });
const server = await startTraceStoreServer(store, { otlpPort: 0, queryPort: 0 });
console.log(`trace store listening at ${server.otlpUrl}`);
process.once('SIGTERM', () => void server.close().then(() => process.exit(0)));
