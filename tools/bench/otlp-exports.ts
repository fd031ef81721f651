import { SpanKind, context, trace } from '@opentelemetry/api';
import type { Attributes } from '@opentelemetry/api';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { TracerProvider } from '@opentelemetry/sdk-trace';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';

/** One export as the SDK's two OTLP/HTTP exporters would post it. */
export interface TraceExport {
  spans: number;
  protobuf: Buffer;
  json: Buffer;
}

const SPANS_PER_TRACE = 29;

/**
 * `count` exports of `spansPerExport` spans (the batch processor's default is 512), each from one service as a process
 * exports them: whole orders of 29 spans (an HTTP root, messaging, validation, cooking) with ten or so attributes
 * each, made by the SDK and serialized by its own serializers, so their bytes are what an exporter sends.
 */
export function makeTraceExports(count: number, spansPerExport = 512): TraceExport[] {
  const exports: TraceExport[] = [];
  for (let i = 0; i < count; i++) {
    const ended: ReadableSpan[] = [];
    const provider = new TracerProvider({
      resource: resourceFromAttributes({
        'service.name': ['ituna-gateway', 'ituna-order-validation', 'ituna-kitchen'][i % 3]!,
        'service.version': '0.1.0',
        'host.name': 'bench',
      }),
      spanProcessors: [
        { onStart() {}, onEnd: (span) => void ended.push(span), forceFlush: async () => {}, shutdown: async () => {} },
      ],
    });
    const tracer = provider.getTracer('ituna-bench', '0.1.0');
    const started = Date.now() - 60_000;
    for (let order = 0; ended.length < spansPerExport; order++) {
      const orderId = `bench-${i}-${order}`;
      const common: Attributes = {
        'ituna.order.id': orderId,
        'ituna.order.channel': 'online',
        'ituna.run.id': 'bench',
      };
      const at = started + order * 50;
      const root = tracer.startSpan('POST /orders/online', {
        kind: SpanKind.SERVER,
        startTime: at,
        attributes: {
          ...common,
          'http.request.method': 'POST',
          'http.route': '/orders/online',
          'http.response.status_code': 202,
          'url.path': '/orders/online',
          'server.address': '127.0.0.1',
          'server.port': 3000,
          'user_agent.original': 'bench',
        },
      });
      const parent = trace.setSpan(context.active(), root);
      const size = Math.min(SPANS_PER_TRACE, spansPerExport - ended.length);
      for (let n = 1; n < size; n++) {
        const kind = [SpanKind.INTERNAL, SpanKind.PRODUCER, SpanKind.CONSUMER][n % 3]!;
        const child = tracer.startSpan(
          ['validate address', 'send orders.placed', 'process kitchen.tickets', 'prepare tuna-nigiri'][n % 4]!,
          {
            kind,
            startTime: at + n,
            attributes: {
              ...common,
              'messaging.system': 'kafka',
              'messaging.destination.name': 'kitchen.tickets',
              'messaging.operation.type': 'process',
              'messaging.kafka.message.key': orderId,
              'messaging.kafka.offset': order * 29 + n,
              'ituna.queue.wait_ms': n * 0.25,
              'ituna.kitchen.chefs.busy': n % 3,
            },
          },
          parent,
        );
        if (n % 10 === 0) child.addEvent('item ready', { 'ituna.item': 'tuna-nigiri' }, at + n + 0.5);
        child.end(at + n + 0.75);
      }
      root.end(at + SPANS_PER_TRACE);
    }
    exports.push({
      spans: ended.length,
      protobuf: Buffer.from(ProtobufTraceSerializer.serializeRequest(ended)!),
      json: Buffer.from(JsonTraceSerializer.serializeRequest(ended)!),
    });
  }
  return exports;
}
