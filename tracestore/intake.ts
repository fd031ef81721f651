import type { IncomingMessage, ServerResponse } from 'node:http';
import { flattenResourceSpans } from '../traces/otlp.ts';
import { json } from './http.ts';
import type { TraceStore } from './store.ts';

const MAX_EXPORT_BYTES = 16 * 1024 * 1024;

async function readBody(request: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_EXPORT_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** OTLP/HTTP receiver (JSON): POST /v1/traces. */
export function otlpHandler(store: TraceStore) {
  return async (request: IncomingMessage, response: ServerResponse) => {
    if (request.method !== 'POST' || request.url?.split('?')[0] !== '/v1/traces') return json(response, 404, { error: 'POST /v1/traces only' });
    if (!request.headers['content-type']?.startsWith('application/json')) {
      return json(response, 415, { error: 'only OTLP/HTTP JSON is accepted (OTEL_EXPORTER_OTLP_PROTOCOL=http/json)' });
    }
    const body = await readBody(request);
    if (!body) return json(response, 413, { error: `an export may be at most ${MAX_EXPORT_BYTES} bytes` });
    try {
      store.add(flattenResourceSpans(JSON.parse(body.toString('utf8'))));
      json(response, 200, {});
    } catch (error) {
      json(response, 400, { error: (error as Error).message });
    }
  };
}

