import type { IncomingMessage, ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { flattenResourceSpans } from '../traces/otlp.ts';
import type { FlatSpan } from '../traces/otlp.ts';
import { json } from './http.ts';
import { checkTraceExport } from './otlp-export.ts';
import { decodeTraceExport, encodeStatus, exportAccepted } from './otlp-protobuf.ts';
import type { TraceStore } from './store.ts';

/** The largest export taken, on the wire and once decompressed; the OpenTelemetry Collector's default is 20 MiB. */
export const MAX_EXPORT_BYTES = 16 * 1024 * 1024;

// Past the limit the rest of a body is read and dropped, so the client is answered 413 instead of a reset
// connection; past this much more the connection is cut.
const MAX_DISCARDED_BYTES = 4 * MAX_EXPORT_BYTES;

const MEDIA_TYPES = {
  'application/x-protobuf': 'protobuf',
  'application/protobuf': 'protobuf',
  'application/json': 'json',
} as const;
type Encoding = (typeof MEDIA_TYPES)[keyof typeof MEDIA_TYPES];

// google.rpc.Status codes for the answers below, as OTLP/HTTP puts them in an error body.
const RPC_CODES = { 400: 3, 404: 5, 405: 12, 413: 8, 415: 3 } as const;

const gunzipAsync = promisify(gunzip);

/** An export that cannot be taken, with the HTTP status that says why. */
class ExportRefused extends Error {
  readonly status: keyof typeof RPC_CODES;
  constructor(status: keyof typeof RPC_CODES, message: string) {
    super(message);
    this.name = 'ExportRefused';
    this.status = status;
  }
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_EXPORT_BYTES + MAX_DISCARDED_BYTES) request.destroy();
    else if (size <= MAX_EXPORT_BYTES) chunks.push(chunk);
  }
  if (size > MAX_EXPORT_BYTES) throw new ExportRefused(413, `an export may be at most ${MAX_EXPORT_BYTES} bytes`);
  return Buffer.concat(chunks, size);
}

async function decompress(body: Buffer, contentEncoding: string | undefined): Promise<Buffer> {
  const coding = (contentEncoding ?? 'identity').trim().toLowerCase();
  if (coding === 'identity' || coding === '') return body;
  if (coding !== 'gzip')
    throw new ExportRefused(415, `Content-Encoding ${coding} is not supported; send gzip or nothing`);
  try {
    // maxOutputLength stops inflating at the limit, so a small gzip bomb costs no more memory than a large export.
    return await gunzipAsync(body, { maxOutputLength: MAX_EXPORT_BYTES });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new ExportRefused(413, `an export may be at most ${MAX_EXPORT_BYTES} bytes once decompressed`);
    }
    throw new ExportRefused(400, `not gzip: ${(error as Error).message}`);
  }
}

/** The spans of a whole export, or ExportRefused: nothing of a bad export is kept. */
function spansOf(body: Buffer, encoding: Encoding): FlatSpan[] {
  try {
    if (encoding === 'protobuf') return flattenResourceSpans(decodeTraceExport(body));
    const request = JSON.parse(body.toString('utf8'));
    checkTraceExport(request);
    const spans = flattenResourceSpans(request);
    for (const span of spans) {
      // OTLP/JSON ids are hex in either case, and proto3 JSON may leave out an empty name.
      span.traceId = span.traceId.toLowerCase();
      span.spanId = span.spanId.toLowerCase();
      if (span.parentSpanId) span.parentSpanId = span.parentSpanId.toLowerCase();
      span.name ??= '';
      for (const event of span.events) event.name ??= '';
    }
    return spans;
  } catch (error) {
    const message = (error as Error).message;
    throw new ExportRefused(
      400,
      encoding === 'protobuf' && !message.startsWith('not an OTLP')
        ? `not an OTLP protobuf trace export: ${message}`
        : message,
    );
  }
}

function answer(response: ServerResponse, encoding: Encoding, status: 200 | keyof typeof RPC_CODES, message = '') {
  if (encoding === 'protobuf') {
    const body = status === 200 ? exportAccepted() : encodeStatus(RPC_CODES[status], message);
    response.writeHead(status, { 'content-type': 'application/x-protobuf', 'content-length': body.length }).end(body);
  } else {
    const body = JSON.stringify(status === 200 ? {} : { code: RPC_CODES[status], message });
    response.writeHead(status, { 'content-type': 'application/json' }).end(body);
  }
}

/**
 * OTLP/HTTP receiver: POST /v1/traces in protobuf or JSON, gzipped or not, answered in the encoding it came in. A
 * whole export is decoded and checked before any of it is kept, so a bad one changes nothing.
 */
export function otlpHandler(store: TraceStore, monitor?: { add(spans: FlatSpan[]): void }) {
  return async (request: IncomingMessage, response: ServerResponse) => {
    const mediaType = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    const encoding: Encoding = MEDIA_TYPES[mediaType as keyof typeof MEDIA_TYPES] ?? 'json';
    try {
      if (request.url?.split('?')[0] !== '/v1/traces') throw new ExportRefused(404, 'POST OTLP traces to /v1/traces');
      if (request.method !== 'POST') throw new ExportRefused(405, 'POST only');
      if (!(mediaType in MEDIA_TYPES)) {
        throw new ExportRefused(
          415,
          'send application/x-protobuf or application/json (OTLP/HTTP, either OTEL_EXPORTER_OTLP_PROTOCOL)',
        );
      }
      const body = await decompress(await readBody(request), request.headers['content-encoding']);
      const spans = spansOf(body, encoding);
      store.add(spans);
      monitor?.add(spans);
      answer(response, encoding, 200);
    } catch (error) {
      // A client that hung up mid-body has no one to answer; nothing else may escape, or the process would end.
      if (response.headersSent || response.destroyed) return;
      if (!(error instanceof ExportRefused)) {
        process.stderr.write(`trace store: an export failed: ${(error as Error).stack}\n`);
        return json(response, 500, { code: 13, message: 'internal error' });
      }
      if (error.status === 405) response.setHeader('allow', 'POST');
      answer(response, encoding, error.status, error.message);
    }
  };
}
