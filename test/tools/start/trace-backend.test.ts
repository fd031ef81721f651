import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { it } from 'node:test';
import { describeTraceBackend } from '../../../tools/start/trace-backend.ts';
import { openTraceStore } from '../../../tools/tracestore/store.ts';
import { startTraceStoreServer } from '../../../tools/tracestore/server.ts';

it('When an OTLP receiver with api/v3 already listens, then npm start says traces go there and where to query them', async () => {
  const traces = await openTraceStore();
  const store = await startTraceStoreServer(traces, { otlpPort: 0, queryPort: 0 });
  try {
    const line = await describeTraceBackend(store.otlpUrl, store.queryUrl);
    assert.equal(
      line,
      `traces go to the OTLP receiver already on ${store.otlpUrl}; query them at ${store.queryUrl} (it answers Jaeger's api/v3)`,
    );
    assert.equal(traces.spanCount, 0, 'the probe is an empty export');
  } finally {
    await store.close();
  }
});

it('When something else holds the OTLP port, then npm start says traces will be lost', async () => {
  const other = createServer((_, response) => response.writeHead(404).end());
  other.listen(0, '127.0.0.1');
  await once(other, 'listening');
  const url = `http://127.0.0.1:${(other.address() as { port: number }).port}`;
  try {
    assert.match(
      await describeTraceBackend(url, url),
      /does not take OTLP\/HTTP \(POST \/v1\/traces answered 404\): traces will be lost/,
    );
  } finally {
    other.close();
  }
});
