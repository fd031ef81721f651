import { randomUUID } from 'node:crypto';
import { trace } from '@opentelemetry/api';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { outgoing } from '../../common/kafka.ts';
import type { Outgoing } from '../../common/kafka.ts';
import { CHANNELS, CustomerName, DeliveryAddress, ORDER_STATUSES, OrderId, OrderItems, RejectionReason, TableNumber } from '../../common/orders.ts';
import type { Channel } from '../../common/orders.ts';
import { serverSpanOf, withOrderBaggage } from '../../common/telemetry.ts';
import { kitchenTickets, ordersPlaced, ordersStatus } from '../../common/topics/index.ts';
import type { GatewayDeps } from '../app.ts';
import { managementOnly } from '../auth.ts';
import { ErrorResponse, HttpError } from '../errors.ts';
import { timelineOf } from '../timeline.ts';

const exampleItems = [
  { menuItemId: 'tuna-nigiri', quantity: 2 },
  { menuItemId: 'miso-soup', quantity: 1 },
];

/** The website order shown in the API docs (and posted by the benchmarks). */
export const exampleOnlineOrder = { customerName: 'Aiko Tanaka', deliveryAddress: { street: '12 Fulton Street', city: 'New York', zip: '10038' }, items: exampleItems };

export const OnlineOrderRequest = Type.Object(
  { customerName: CustomerName, deliveryAddress: DeliveryAddress, items: OrderItems },
  { additionalProperties: false, examples: [exampleOnlineOrder] },
);

export const OnsiteOrderRequest = Type.Object(
  { table: TableNumber, customerName: CustomerName, items: OrderItems },
  { additionalProperties: false, examples: [{ table: 7, customerName: 'Kenji Sato', items: exampleItems }] },
);

export const DirectOrderRequest = Type.Object(
  { items: OrderItems },
  { additionalProperties: false, examples: [{ items: [{ menuItemId: 'unagi-don', quantity: 1 }] }] },
);

export const OrderAccepted = Type.Object({
  orderId: OrderId,
  status: Type.Literal('accepted'),
  traceId: Type.Optional(Type.String({ description: 'The trace of this order (absent when tracing is disabled)' })),
});

export const OrderView = Type.Object({
  orderId: OrderId,
  channel: Type.Enum(CHANNELS),
  status: Type.Enum(ORDER_STATUSES),
  traceId: Type.Optional(Type.String()),
  reasons: Type.Optional(Type.Array(RejectionReason)),
  history: Type.Array(
    Type.Object({
      status: Type.Enum(ORDER_STATUSES),
      at: Type.String({ format: 'date-time' }),
      startedAt: Type.Optional(Type.String({ format: 'date-time', description: 'When the station reporting this status took the order from Kafka' })),
    }),
    { description: 'When the order reached each status, oldest first' },
  ),
  timeline: Type.Object(
    {
      totalMs: Type.Number({ description: 'From the accepted order to its last status' }),
      traceUrl: Type.Optional(Type.String({ description: 'The trace in the trace UI (when JAEGER_UI_URL is set)' })),
      stages: Type.Array(
        Type.Object({
          stage: Type.String(),
          kind: Type.Enum(['queue', 'work']),
          start: Type.String({ format: 'date-time' }),
          end: Type.String({ format: 'date-time' }),
          ms: Type.Number(),
        }),
      ),
    },
    { description: 'Where the time went: each wait in Kafka and each station at work' },
  ),
});

const errors = { 400: ErrorResponse, 415: ErrorResponse, 429: ErrorResponse, 503: ErrorResponse };

/** Tags the request's spans with the order, publishes its messages under the order's baggage, records it as accepted. */
async function acceptOrder(
  deps: GatewayDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  channel: Channel,
  messagesFor: (orderId: string, at: string) => Outgoing[],
) {
  const orderId = randomUUID();
  const at = new Date().toISOString();
  const attributes = { 'ituna.order.id': orderId, 'ituna.order.channel': channel };
  const serverSpan = serverSpanOf(request.raw);
  serverSpan?.setAttributes(attributes);
  trace.getActiveSpan()?.setAttributes(attributes);

  const accepted = { orderId, channel, status: 'accepted' as const, at };
  if (!deps.isReady()) {
    throw new HttpError(503, 'kafka_unavailable', 'Orders cannot be queued right now; nothing was accepted. Try again shortly.', { 'retry-after': '1' });
  }
  try {
    await withOrderBaggage({ id: orderId, channel }, () => deps.publish([...messagesFor(orderId, at), outgoing(ordersStatus, accepted)]));
  } catch (error) {
    request.log.warn({ err: error, orderId }, 'could not publish the order');
    throw new HttpError(503, 'kafka_unavailable', 'The order could not be queued; nothing was accepted. Try again shortly.', { 'retry-after': '1' });
  }
  const traceId = serverSpan?.spanContext().traceId ?? trace.getActiveSpan()?.spanContext().traceId;
  deps.orders.apply(accepted, traceId);
  request.log.info({ orderId, channel }, 'order accepted');
  return reply.code(202).header('location', `/orders/${orderId}`).send({ orderId, status: 'accepted', traceId });
}

/** The order routes: website, on-site, management's direct orders, and an order's status. */
export const orderRoutes: FastifyPluginAsyncTypebox<{ deps: GatewayDeps }> = async (app, { deps }) => {
  // Placing orders is limited per client; reading an order's status is not.
  const config = { rateLimit: deps.ordersPerMinute ? { max: deps.ordersPerMinute, timeWindow: 60_000 } : false as const };

  app.post(
    '/orders/online',
    {
      config,
      schema: {
        tags: ['orders'],
        summary: 'Place a website order for delivery',
        description: 'Queues the order for validation (address, name, inventory) and then the kitchen.',
        body: OnlineOrderRequest,
        response: { 202: OrderAccepted, ...errors },
      },
    },
    (request, reply) =>
      acceptOrder(deps, request, reply, 'online', (orderId, placedAt) => [
        outgoing(ordersPlaced, { orderId, channel: 'online', placedAt, ...request.body }),
      ]),
  );

  app.post(
    '/orders/onsite',
    {
      config,
      schema: {
        tags: ['orders'],
        summary: 'Place an order at a table in the restaurant',
        description: 'Queues the order for validation (name, inventory) and then the kitchen.',
        body: OnsiteOrderRequest,
        response: { 202: OrderAccepted, ...errors },
      },
    },
    (request, reply) =>
      acceptOrder(deps, request, reply, 'onsite', (orderId, placedAt) => [
        outgoing(ordersPlaced, { orderId, channel: 'onsite', placedAt, ...request.body }),
      ]),
  );

  app.post(
    '/orders/direct',
    {
      config,
      schema: {
        tags: ['orders'],
        summary: 'Send an order straight to the kitchen (management only)',
        description: 'Skips validation. Needs `Authorization: Bearer <ITUNA_DIRECT_ORDER_TOKEN>`; answers 503 when no token is configured.',
        security: [{ managementToken: [] }],
        body: DirectOrderRequest,
        response: { 202: OrderAccepted, 401: ErrorResponse, 403: ErrorResponse, ...errors },
      },
      onRequest: managementOnly(deps.directOrderToken, 'Direct orders'),
    },
    (request, reply) =>
      acceptOrder(deps, request, reply, 'direct', (orderId, ticketedAt) => [
        outgoing(kitchenTickets, { orderId, channel: 'direct', ticketedAt, items: request.body.items }),
      ]),
  );

  app.get(
    '/orders/:id',
    {
      schema: {
        tags: ['orders'],
        summary: "An order's status, its history, where its time went, and its trace",
        params: Type.Object({ id: OrderId }),
        response: { 200: OrderView, 400: ErrorResponse, 404: ErrorResponse },
      },
    },
    async (request) => {
      const order = deps.orders.get(request.params.id);
      if (!order) throw new HttpError(404, 'not_found', `no order ${request.params.id}`);
      const times = order.history.map((h) => Date.parse(h.at));
      const traceUrl = deps.traceUiUrl && order.traceId ? `${deps.traceUiUrl}/trace/${order.traceId}` : undefined;
      return { ...order, timeline: { totalMs: Math.max(...times) - Math.min(...times), traceUrl, stages: timelineOf(order) } };
    },
  );
};
