import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { SERVICE_ENV } from '../start/spawn-service.ts';
import { runForResult } from './measure.ts';
import type { Receiver } from './measure.ts';

/**
 * What the OpenTelemetry SDK itself costs per span, with no instrumentation: the services' own telemetry set-up
 * (`startTelemetry`: its sampler, baggage processor, batch processor and exporter), spans made through the API in a
 * loop, shaped like the gateway's two for an order (the HTTP SERVER span with its attributes and a `send` event, and a
 * PRODUCER span under the order's baggage with its W3C headers injected). Each variant runs in a process of its own,
 * whose CPU (all its threads, the exporter's HTTP client and the garbage collector included) is read per span. This is
 * the floor under the services' per-span figure: what is left above it is the instrumentations' and the context's.
 */
const SPAN_COST_VARIANTS = {
  /** No SDK: the API's no-op spans, i.e. what the loop itself costs. */
  untraced: { env: { OTEL_SDK_DISABLED: 'true' }, exported: false },
  /** Spans made, sampled and ended; none exported. */
  made: { env: { OTEL_TRACES_EXPORTER: 'none' }, exported: false },
  'exported, OTLP protobuf': { env: { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' }, exported: true },
  'exported, OTLP JSON': { env: { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }, exported: true },
} as const;
type SpanCostVariant = keyof typeof SPAN_COST_VARIANTS;

/** Orders a second the loop makes (two spans each): the gateway's peak intake is about 5 000. */
const ORDERS_PER_SECOND = 20_000;
const CHUNK_ORDERS = 200;
// Batches leave when 512 spans are queued, so at this rate the schedule only times the last of them.
const SCHEDULE_DELAY_MS = 200;
const BATCH_SPANS = 512;

/**
 * CPU-µs per span of each variant, one process per variant and round, the variants taking turns: each process makes
 * `orders` orders' spans measured, after as many (at most 10 000) unmeasured while V8 compiles the code.
 */
export async function measureSpanCost(
  sink: Receiver,
  rounds: number,
  orders: number,
  say: (line: string) => void,
): Promise<Record<SpanCostVariant, number[]>> {
  const warmUp = Math.min(orders, 10_000);
  const names = Object.keys(SPAN_COST_VARIANTS) as SpanCostVariant[];
  const result = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<SpanCostVariant, number[]>;
  for (let round = 1; round <= rounds; round++) {
    const order = round % 2 === 1 ? names : [...names].reverse();
    for (const name of order) {
      const before = (await sink.count()).spans;
      const { env, exported } = SPAN_COST_VARIANTS[name];
      const usPerSpan = await runChild(sink.url, env, orders, warmUp, exported);
      const received = (await sink.count()).spans - before;
      const expected = exported ? 2 * (orders + warmUp) : 0;
      // A figure for spans that never left would flatter the exporter.
      if (received !== expected)
        throw new Error(`span cost, ${name}: the sink received ${received} spans, not ${expected}`);
      result[name].push(usPerSpan);
      say(`SDK alone, ${name}, round ${round}: ${usPerSpan.toFixed(2)} CPU-µs per span`);
    }
  }
  return result;
}

function runChild(
  sinkUrl: string,
  env: Record<string, string>,
  orders: number,
  warmUp: number,
  exported: boolean,
): Promise<number> {
  const args = ['--child', '--orders', String(orders), '--warm-up', String(warmUp)];
  return runForResult<number>(import.meta.filename, exported ? [...args, '--exported'] : args, {
    limitMs: 60_000,
    env: {
      ...SERVICE_ENV,
      ...process.env,
      OTEL_EXPORTER_OTLP_ENDPOINT: sinkUrl,
      OTEL_BSP_SCHEDULE_DELAY: String(SCHEDULE_DELAY_MS),
      OTEL_BSP_MAX_EXPORT_BATCH_SIZE: String(BATCH_SPANS),
      // Room for every span of the run: on a machine too slow to export as fast as the loop makes spans, the queue
      // grows instead of dropping them, and the child waits for it to drain before it stops.
      OTEL_BSP_MAX_QUEUE_SIZE: String(2 * (orders + warmUp)),
      ...env,
    },
  });
}

/** The child: telemetry started as a service starts it, then the loop, measured from after a warm-up. */
async function child(orders: number, warmUp: number, exported: boolean): Promise<void> {
  const { startTelemetry, stopTelemetry } = await import('../../common/telemetry/sdk.ts');
  const { ORDER_BAGGAGE_KEYS, withOrderBaggage } = await import('../../common/restaurant/baggage.ts');
  await startTelemetry('ituna-bench-spans', { baggageAttributes: ORDER_BAGGAGE_KEYS });
  const { SpanKind, context, propagation, trace } = await import('@opentelemetry/api');
  const tracer = trace.getTracer('ituna-bench');
  const ids = Array.from({ length: 1000 }, () => crypto.randomUUID());
  // The sink's count of spans received, to wait for the exports to catch up with the loop (a poll costs little next
  // to the spans measured). Without an exporter there is nothing to wait for.
  const sinkCount = async () =>
    ((await (await fetch(`${process.env.OTEL_EXPORTER_OTLP_ENDPOINT}/count`)).json()) as { spans: number }).spans;
  const atStart = exported ? await sinkCount() : 0;
  const exportedUpTo = async (spans: number) => {
    if (!exported) return;
    for (let waited = 0; waited < 30_000; waited += 20) {
      if ((await sinkCount()) - atStart >= spans) return;
      await sleep(20);
    }
  };

  const placeOrder = (i: number) => {
    const orderId = ids[i % ids.length]!;
    const server = tracer.startSpan('POST /orders/online', {
      kind: SpanKind.SERVER,
      attributes: {
        'http.request.method': 'POST',
        'url.scheme': 'http',
        'server.address': '127.0.0.1',
        'network.peer.address': '127.0.0.1',
        'network.peer.port': 40_000 + (i % 20_000),
        'network.protocol.version': '1.1',
        'user_agent.original': 'k6/1.0',
        'url.path': '/orders/online',
        'client.address': '127.0.0.1',
        'server.port': 3000,
      },
    });
    withOrderBaggage({ orderId, channel: 'online' }, () =>
      context.with(trace.setSpan(context.active(), server), () => {
        const messaging = {
          'messaging.system': 'kafka',
          'messaging.operation.type': 'send',
          'messaging.operation.name': 'send',
          'messaging.kafka.message.key': orderId,
        };
        const producer = tracer.startSpan('send orders.placed', {
          kind: SpanKind.PRODUCER,
          attributes: { ...messaging, 'messaging.destination.name': 'orders.placed', 'server.port': 9092 },
        });
        const headers: Record<string, string> = {};
        propagation.inject(trace.setSpan(context.active(), producer), headers);
        server.addEvent('send orders.status', {
          ...messaging,
          'messaging.destination.name': 'orders.status',
          'ituna.order.status': 'accepted',
        });
        // The status message's headers, from the HTTP span's context, as the gateway injects them.
        propagation.inject(context.active(), {});
        producer.setAttributes({
          'messaging.destination.partition.id': String(i % 6),
          'messaging.kafka.offset': i,
          'ituna.batch.messages': 2,
        });
        producer.end();
      }),
    );
    server.setAttributes({
      'ituna.order.id': orderId,
      'ituna.order.channel': 'online',
      'http.response.status_code': 202,
      'http.route': '/orders/online',
    });
    server.end();
  };
  // At a steady rate, as a service makes them, so that exports run beside the loop rather than all at the end.
  const loop = async (count: number, from: number, chunk = CHUNK_ORDERS) => {
    for (let done = 0; done < count; done += chunk) {
      for (let i = done; i < Math.min(count, done + chunk); i++) placeOrder(from + i);
      await sleep((CHUNK_ORDERS / ORDERS_PER_SECOND) * 1000);
    }
  };

  // The warm-up at a faster pace: it only has to leave V8's optimised code behind.
  await loop(warmUp, 0, 2.5 * CHUNK_ORDERS);
  await exportedUpTo(2 * warmUp);
  const before = process.cpuUsage();
  await loop(orders, warmUp);
  // Every full batch exported, then the SDK flushes the last one as it stops: its export counts too.
  await exportedUpTo(2 * (warmUp + orders) - (BATCH_SPANS - 1));
  await stopTelemetry();
  const used = process.cpuUsage(before);
  process.stdout.write(`RESULT ${JSON.stringify((used.user + used.system) / (2 * orders))}\n`);
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      child: { type: 'boolean' },
      orders: { type: 'string' },
      'warm-up': { type: 'string' },
      exported: { type: 'boolean', default: false },
    },
  });
  if (values.child) await child(Number(values.orders ?? 10_000), Number(values['warm-up'] ?? 10_000), values.exported);
}
