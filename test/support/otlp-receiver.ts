import { once } from 'node:events';
import { createServer } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { flattenResourceSpans } from '../../traces/otlp.ts';
import type { FlatSpan } from '../../traces/otlp.ts';

/** An OTLP/HTTP JSON trace receiver for tests: keeps every span it is sent. */
export interface OtlpReceiver {
  /** Base URL for OTEL_EXPORTER_OTLP_ENDPOINT. */
  url: string;
  spans(): FlatSpan[];
  trace(traceId: string): FlatSpan[];
  waitFor(predicate: (spans: FlatSpan[]) => boolean, options?: { timeoutMs?: number; what?: string }): Promise<FlatSpan[]>;
  close(): Promise<void>;
}

/** Starts a receiver on 127.0.0.1 (a free port unless given) that accepts POST /v1/traces in JSON. */
export async function startOtlpReceiver(options: { port?: number } = {}): Promise<OtlpReceiver> {
  const received: FlatSpan[] = [];
  const server = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    if (request.method !== 'POST' || request.url !== '/v1/traces') return response.writeHead(404).end();
    if (!request.headers['content-type']?.startsWith('application/json')) return response.writeHead(415).end();
    try {
      received.push(...flattenResourceSpans(JSON.parse(Buffer.concat(chunks).toString('utf8'))));
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    } catch (error) {
      response.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: (error as Error).message }));
    }
  });
  server.listen(options.port ?? 0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };

  return {
    url: `http://127.0.0.1:${port}`,
    spans: () => [...received],
    trace: (traceId) => received.filter((s) => s.traceId === traceId),
    async waitFor(predicate, { timeoutMs = 20_000, what = 'spans' } = {}) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(received)) {
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; ${received.length} spans received`);
        await sleep(50);
      }
      return [...received];
    },
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
