import { randomBytes } from 'node:crypto';
import type { FlatSpan } from './otlp.ts';

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

/** How one made-up order went: times in ms. `stopAt` cuts it short, leaving it waiting in that topic. */
export interface OrderShape {
  startMs?: number;
  runId?: string;
  placedWaitMs?: number;
  inventoryMs?: number;
  kitchenWaitMs?: number;
  chefWaitMs?: number;
  cookMs?: number;
  dishes?: number;
  stopAt?: 'orders.placed' | 'kitchen.tickets';
}

/**
 * The spans of one online order shaped like the pipeline's in full detail (HTTP span, Fastify's spans, both Kafka
 * hops, the checks under a `validate order` span, the kitchen, and every status message as a producer span with the
 * two followers' spans): 24 spans and one per dish (two by default). The pipeline now tells statuses as events and
 * has no `validate order` span (12 spans, docs/tracing.md); this richer shape keeps the tools tested on every kind of
 * span a trace from another set-up may hold.
 */
export function orderTrace(shape: OrderShape = {}): FlatSpan[] {
  const {
    startMs = Date.now(),
    runId,
    placedWaitMs = 4,
    inventoryMs = 30,
    kitchenWaitMs = 20,
    chefWaitMs = 5,
    cookMs = 80,
    dishes = 2,
    stopAt,
  } = shape;
  const traceId = hex(16);
  const orderId = `o-${hex(6)}`;
  const spans: FlatSpan[] = [];
  const [gw, val, kit] = ['ituna-gateway', 'ituna-order-validation', 'ituna-kitchen'] as const;
  const add = (
    name: string,
    service: string,
    kind: FlatSpan['kind'],
    start: number,
    end: number,
    parent?: FlatSpan,
    attributes: FlatSpan['attributes'] = {},
  ) => {
    const span: FlatSpan = {
      traceId,
      spanId: hex(8),
      parentSpanId: parent?.spanId,
      name,
      kind,
      service,
      startMs: start,
      endMs: end,
      durationMs: end - start,
      attributes: {
        'ituna.order.id': orderId,
        'ituna.order.channel': 'online',
        ...(runId ? { 'ituna.run.id': runId } : {}),
        ...attributes,
      },
      status: { code: 'unset' },
      events: [],
      links: [],
    };
    spans.push(span);
    return span;
  };
  const messaging = (topic: string, op: string) => ({
    'messaging.system': 'kafka',
    'messaging.destination.name': topic,
    'messaging.operation.type': op,
  });
  const status = (service: string, at: number, parent: FlatSpan) => {
    const send = add('send orders.status', service, 'producer', at, at + 2, parent, messaging('orders.status', 'send'));
    add('process orders.status', gw, 'consumer', at + 3, at + 3.2, send, messaging('orders.status', 'process'));
    add('process orders.status', kit, 'consumer', at + 3, at + 3.1, send, messaging('orders.status', 'process'));
  };
  const t = startMs;
  const http = add('POST /orders/online', gw, 'server', t, t + 9, undefined, {
    'http.request.method': 'POST',
    'http.response.status_code': 202,
  });
  const request = add('request', gw, 'internal', t + 0.5, t + 8.5, http);
  add('hook onRequest', gw, 'internal', t + 0.6, t + 0.8, request);
  add('hook preValidation', gw, 'internal', t + 0.9, t + 1.1, request);
  const handler = add('handler - POST /orders/online', gw, 'internal', t + 1.2, t + 8, request);
  const placed = add('send orders.placed', gw, 'producer', t + 2, t + 7, handler, messaging('orders.placed', 'send'));
  if (stopAt === 'orders.placed') return spans;
  const v = t + 7 + placedWaitMs;
  const process = add('process orders.placed', val, 'consumer', v, v + inventoryMs + 10, placed, {
    ...messaging('orders.placed', 'process'),
    'ituna.queue.wait_ms': placedWaitMs,
  });
  const validate = add('validate order', val, 'internal', v + 0.2, v + 0.2 + inventoryMs, process, {
    'ituna.validation.result': 'valid',
  });
  add('validate address', val, 'internal', v + 0.3, v + 10, validate);
  add('validate name', val, 'internal', v + 0.3, v + 2, validate);
  add('validate inventory', val, 'internal', v + 0.3, v + 0.2 + inventoryMs, validate);
  const ticket = add(
    'send kitchen.tickets',
    val,
    'producer',
    v + inventoryMs + 1,
    v + inventoryMs + 5,
    process,
    messaging('kitchen.tickets', 'send'),
  );
  status(val, v + inventoryMs + 5.5, process);
  if (stopAt === 'kitchen.tickets') return spans;
  const k = v + inventoryMs + 5 + kitchenWaitMs;
  const kitchen = add('process kitchen.tickets', kit, 'consumer', k, k + chefWaitMs + cookMs + 6, ticket, {
    ...messaging('kitchen.tickets', 'process'),
    'ituna.queue.wait_ms': kitchenWaitMs,
  });
  add('wait for chef', kit, 'internal', k + 0.1, k + chefWaitMs, kitchen);
  status(kit, k + chefWaitMs, kitchen);
  const cook = add('cook order', kit, 'internal', k + chefWaitMs + 2, k + chefWaitMs + 2 + cookMs, kitchen, {
    'ituna.kitchen.chefs.busy': 1,
  });
  for (let i = 0; i < dishes; i++)
    add(
      `prepare dish-${i}`,
      kit,
      'internal',
      k + chefWaitMs + 2 + (i * cookMs) / dishes,
      k + chefWaitMs + 2 + ((i + 1) * cookMs) / dishes,
      cook,
    );
  status(kit, k + chefWaitMs + 2 + cookMs, kitchen);
  return spans;
}

/** A trace of `count` spans (one order, then internal spans fanned out under the kitchen's span), for the viewer's big-trace figures. */
export function bigTrace(count: number, startMs = Date.now()): FlatSpan[] {
  const spans = orderTrace({ startMs });
  const kitchen = spans.find((s) => s.name === 'process kitchen.tickets')!;
  for (let i = 0; spans.length < count; i++) {
    const start = kitchen.startMs + ((i % 97) / 97) * kitchen.durationMs;
    spans.push({
      ...kitchen,
      spanId: hex(8),
      parentSpanId: kitchen.spanId,
      name: `step ${i}`,
      kind: 'internal',
      startMs: start,
      endMs: start + 0.5,
      durationMs: 0.5,
      attributes: { step: i },
    });
  }
  return spans;
}
