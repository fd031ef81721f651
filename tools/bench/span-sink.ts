import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { otlpHandler } from '../tracestore/intake.ts';
import { loadOtlpProtobuf } from '../tracestore/otlp-protobuf.ts';
import { openTraceStore } from '../tracestore/store.ts';

// An OTLP/HTTP trace endpoint that reads each export, counts its spans and keeps nothing: the benchmark's receiver
// when what is measured is the services, not a backend. Runs as its own process, so its CPU is its own line.
// GET /count answers {"exports","spans","bytes"}; GET /samples the last exports of each encoding, to replay into another
// receiver.
// With --store, each export also goes through the embedded trace store's intake (parsed and kept), to measure what
// a receiver costs per span. Prints "span sink listening at URL" when ready.

/** Reads one protobuf varint at `at`; returns the value and the offset after it. */
function varint(buf: Buffer, at: number): [number, number] {
  let value = 0;
  let shift = 0;
  for (let i = 0; i < 10; i++) {
    const byte = buf[at++]!;
    value += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return [value, at];
    shift += 7;
  }
  throw new Error('varint too long');
}

/** Calls `onField` for each top-level field of a protobuf message in buf[start, end) that is length-delimited. */
function eachField(
  buf: Buffer,
  start: number,
  end: number,
  onField: (field: number, from: number, to: number) => void,
): void {
  let at = start;
  while (at < end) {
    const [key, next] = varint(buf, at);
    at = next;
    const field = Math.floor(key / 8);
    switch (key & 7) {
      case 0:
        at = varint(buf, at)[1];
        break;
      case 1:
        at += 8;
        break;
      case 5:
        at += 4;
        break;
      case 2: {
        const [length, from] = varint(buf, at);
        onField(field, from, from + length);
        at = from + length;
        break;
      }
      default:
        throw new Error(`wire type ${key & 7}`);
    }
  }
}

/** Spans in an ExportTraceServiceRequest: resource_spans (1) → scope_spans (2) → spans (2). */
export function countProtobufSpans(buf: Buffer): number {
  let spans = 0;
  eachField(buf, 0, buf.length, (f, a, b) => {
    if (f === 1)
      eachField(buf, a, b, (g, c, d) => {
        if (g === 2) eachField(buf, c, d, (h) => void (h === 2 && spans++));
      });
  });
  return spans;
}

const SPAN_ID = Buffer.from('"spanId":');

/** Spans in an OTLP/JSON export, without parsing it: each span has one "spanId" key (parents are "parentSpanId"). */
export function countJsonSpans(buf: Buffer): number {
  let spans = 0;
  for (let at = buf.indexOf(SPAN_ID); at !== -1; at = buf.indexOf(SPAN_ID, at + SPAN_ID.length)) spans++;
  return spans;
}

const counts = { exports: 0, spans: 0, bytes: 0 };
const samples: Array<{ contentType: string; body: string }> = [];
const storeMode = process.argv.includes('--store');
if (storeMode) await loadOtlpProtobuf();
const store = storeMode ? otlpHandler(await openTraceStore({ maxSpans: 1_000_000 })) : undefined;

async function receive(request: IncomingMessage, response: ServerResponse) {
  if (request.method === 'GET' && request.url === '/count')
    return void response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(counts));
  if (request.method === 'GET' && request.url === '/samples')
    return void response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(samples));
  const chunks: Buffer[] = [];
  for await (const chunk of request as AsyncIterable<Buffer>) chunks.push(chunk);
  const body = Buffer.concat(chunks);
  const contentType = request.headers['content-type'] ?? '';
  const protobuf = contentType.includes('protobuf');
  counts.exports++;
  counts.bytes += body.length;
  counts.spans += protobuf ? countProtobufSpans(body) : countJsonSpans(body);
  // The last 16 exports of each encoding.
  samples.push({ contentType, body: body.toString('base64') });
  const same = samples.filter((x) => x.contentType === contentType);
  if (same.length > 16) samples.splice(samples.indexOf(same[0]!), 1);
  if (store) {
    // The store's own intake, on the body already read.
    const replay = Object.assign(Readable.from([body]), {
      method: 'POST',
      url: '/v1/traces',
      headers: request.headers,
    }) as unknown as IncomingMessage;
    return store(replay, response);
  }
  // An empty ExportTraceServiceResponse in either encoding: everything accepted.
  if (protobuf) response.writeHead(200, { 'content-type': 'application/x-protobuf', 'content-length': 0 }).end();
  else response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
}

if (import.meta.main) {
  const server = createServer(
    (request, response) =>
      void receive(request, response).catch((error: Error) => {
        process.stderr.write(`span sink: ${error.stack}\n`);
        if (!response.headersSent) response.writeHead(400).end();
      }),
  );
  server.listen(0, '127.0.0.1', () =>
    console.log(`span sink listening at http://127.0.0.1:${(server.address() as { port: number }).port}`),
  );
  process.once('SIGTERM', () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
}
