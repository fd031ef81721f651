import { randomUUID } from 'node:crypto';
import { trace } from '@opentelemetry/api';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Static, TSchema } from 'typebox';
import Type from 'typebox';
import { outgoing } from '../../common/kafka/publish.ts';
import type { Outgoing } from '../../common/kafka/publish.ts';
import { withOrderBaggage } from '../../common/restaurant/baggage.ts';
import { OrderId } from '../../common/restaurant/order.ts';
import type { Channel } from '../../common/restaurant/order.ts';
import { kitchenTickets, ordersPlaced, ordersStatus } from '../../common/topics/index.ts';
import { managementOnly } from '../auth.ts';
import { DEFAULT_PUBLISH_DEADLINE_MS } from '../deps.ts';
import type { GatewayDeps } from '../deps.ts';
import { IDEMPOTENCY_WINDOW_MS, IdempotencyHeaders, idempotentOrderId, requestHashOf } from '../idempotency.ts';
import { withDeadline } from '../publish-deadline.ts';
import { ErrorResponse, HttpError } from '../errors.ts';
import { DirectOrderRequest, OnlineOrderRequest, OnsiteOrderRequest, OrderAccepted, OrderView } from '../schemas.ts';
import { serverSpanOf } from '../server-spans.ts';
import { timelineOf } from '../timeline.ts';

/** One way of placing an order: its route, who may use it, and the message that starts the order's journey. */
interface OrderRoute<B extends TSchema> {
  channel: Channel;
  summary: string;
  description: string;
  body: B;
  managementOnly?: boolean;
  firstMessage(orderId: string, at: string, body: Static<B>): Outgoing;
}

const orderRouteTable = [
  {
    channel: 'online',
    summary: 'Place a website order for delivery',
    description: 'Queues the order for validation (address, name, inventory) and then the kitchen.',
    body: OnlineOrderRequest,
    firstMessage: (orderId, placedAt, body) =>
      outgoing(ordersPlaced, { orderId, channel: 'online', placedAt, ...body }),
  } satisfies OrderRoute<typeof OnlineOrderRequest>,
  {
    channel: 'onsite',
    summary: 'Place an order at a table in the restaurant',
    description: 'Queues the order for validation (name, inventory) and then the kitchen.',
    body: OnsiteOrderRequest,
    firstMessage: (orderId, placedAt, body) =>
      outgoing(ordersPlaced, { orderId, channel: 'onsite', placedAt, ...body }),
  } satisfies OrderRoute<typeof OnsiteOrderRequest>,
  {
    channel: 'direct',
    summary: 'Send an order straight to the kitchen (management only)',
    description:
      'Skips validation. Needs `Authorization: Bearer <ITUNA_MANAGEMENT_TOKEN>`; answers 503 when no token is configured.',
    body: DirectOrderRequest,
    managementOnly: true,
    firstMessage: (orderId, ticketedAt, body) =>
      outgoing(kitchenTickets, { orderId, channel: 'direct', ticketedAt, items: body.items }),
  } satisfies OrderRoute<typeof DirectOrderRequest>,
];

const errors = { 400: ErrorResponse, 415: ErrorResponse, 422: ErrorResponse, 429: ErrorResponse, 503: ErrorResponse };
const managementErrors = { 401: ErrorResponse, 403: ErrorResponse };

const kafkaUnavailable = (message: string) => new HttpError(503, 'kafka_unavailable', message, { 'retry-after': '1' });

/** Publishes of keyed orders still waiting for Kafka in this process, by order id (their callers may have heard 503). */
type InFlight = Map<string, Promise<void>>;

/**
 * What a keyed order placed before answered, if it was placed: found in this process's publishes in flight, then in
 * the order history once it has caught up with what Kafka holds. Throws 422 for the key reused with another body.
 */
async function earlierAnswer(
  deps: GatewayDeps,
  inFlight: InFlight,
  orderId: string,
  requestHash: string,
  deadlineMs: number,
) {
  const publishing = inFlight.get(orderId);
  if (publishing) {
    await withDeadline(publishing, deadlineMs).catch(() => {
      // Still unacknowledged: neither placed nor failed yet, so nothing can be answered for sure.
      if (inFlight.get(orderId) === publishing)
        throw kafkaUnavailable('The first request with this Idempotency-Key is still being queued. Try again shortly.');
    });
  }
  if (!deps.orders.get(orderId) && deps.catchUpOrders) {
    await deps.catchUpOrders().catch(() => {
      throw kafkaUnavailable('Orders cannot be checked right now; nothing was accepted. Try again shortly.');
    });
  }
  const earlier = deps.orders.get(orderId);
  if (!earlier) return undefined;
  const acceptedAt = Date.parse(earlier.history.find((h) => h.status === 'accepted')?.at ?? earlier.history[0]!.at);
  if (Date.now() - acceptedAt > IDEMPOTENCY_WINDOW_MS) {
    throw new HttpError(
      422,
      'idempotency_key_reused',
      'This Idempotency-Key was used more than 24 h ago; send a new key for a new order.',
    );
  }
  if (earlier.requestHash && earlier.requestHash !== requestHash) {
    throw new HttpError(
      422,
      'idempotency_key_reused',
      'This Idempotency-Key was used with another request; send a new key for a new order.',
    );
  }
  return { orderId, status: 'accepted' as const, traceId: earlier.traceId };
}

/**
 * Tags the request's spans with the order, publishes its messages under the order's baggage, records it as accepted.
 * With an Idempotency-Key the order id is derived from the key, and a key seen before answers what it answered then.
 */
async function acceptOrder(
  deps: GatewayDeps,
  inFlight: InFlight,
  request: FastifyRequest,
  reply: FastifyReply,
  channel: Channel,
  first: (orderId: string, at: string) => Outgoing,
) {
  // Checked against IdempotencyHeaders by the route's schema.
  const key = request.headers['idempotency-key'] as string | undefined;
  const requestHash = key === undefined ? undefined : requestHashOf({ channel, body: request.body });
  const orderId = key === undefined ? randomUUID() : idempotentOrderId(channel, request.ip, key);
  const attributes = { 'ituna.order.id': orderId, 'ituna.order.channel': channel };
  const serverSpan = serverSpanOf(request.raw);
  serverSpan?.setAttributes(attributes);
  trace.getActiveSpan()?.setAttributes(attributes);
  const traceId = serverSpan?.spanContext().traceId ?? trace.getActiveSpan()?.spanContext().traceId;
  const deadlineMs = deps.publishDeadlineMs ?? DEFAULT_PUBLISH_DEADLINE_MS;

  if (!deps.isReady())
    throw kafkaUnavailable('Orders cannot be queued right now; nothing was accepted. Try again shortly.');
  if (requestHash !== undefined) {
    const earlier = await earlierAnswer(deps, inFlight, orderId, requestHash, deadlineMs);
    if (earlier) {
      request.log.info({ orderId, channel }, 'order repeated with its Idempotency-Key; nothing new placed');
      return reply
        .code(202)
        .header('location', `/orders/${orderId}`)
        .header('idempotent-replayed', 'true')
        .send(earlier);
    }
  }

  const at = new Date().toISOString();
  const accepted = { orderId, channel, status: 'accepted' as const, at, ...(requestHash ? { requestHash } : {}) };
  // Once Kafka has it, the order is in the history — also when that happens after its caller heard 503.
  const sent = withOrderBaggage({ orderId, channel }, () =>
    deps.publish([first(orderId, at), outgoing(ordersStatus, accepted)]),
  ).then(() => deps.orders.apply(accepted, traceId));
  if (requestHash !== undefined) {
    inFlight.set(orderId, sent);
    void sent.catch(() => {}).finally(() => inFlight.get(orderId) === sent && inFlight.delete(orderId));
  }
  try {
    await withDeadline(sent, deadlineMs);
  } catch (error) {
    request.log.warn({ err: error, orderId }, 'could not publish the order');
    throw kafkaUnavailable(
      requestHash === undefined
        ? 'The order could not be queued; nothing was accepted. Try again shortly.'
        : 'The order could not be queued in time; it may still be. Send it again with the same Idempotency-Key to find out.',
    );
  }
  request.acceptedOrder = { orderId, channel };
  return reply.code(202).header('location', `/orders/${orderId}`).send({ orderId, status: 'accepted', traceId });
}

/** The order routes: website, on-site, management's direct orders, and an order's status. */
export const orderRoutes: FastifyPluginAsyncTypebox<{ deps: GatewayDeps }> = async (app, { deps }) => {
  const inFlight: InFlight = new Map();
  // Placing orders is limited per client; reading an order's status is not.
  const config = {
    rateLimit: deps.ordersPerMinute ? { max: deps.ordersPerMinute, timeWindow: 60_000 } : (false as const),
  };
  // The management-token check is a hook worth seeing in a trace: those routes keep Fastify's hook and handler spans.
  const managementConfig = { ...config, otel: { instrumentHooks: true } };

  for (const route of orderRouteTable as Array<OrderRoute<TSchema>>) {
    app.post(
      `/orders/${route.channel}`,
      {
        config: route.managementOnly ? managementConfig : config,
        schema: {
          tags: ['orders'],
          summary: route.summary,
          description: route.description,
          ...(route.managementOnly ? { security: [{ managementToken: [] }] } : {}),
          headers: IdempotencyHeaders,
          body: route.body,
          response: { 202: OrderAccepted, ...(route.managementOnly ? managementErrors : {}), ...errors },
        },
        ...(route.managementOnly ? { onRequest: managementOnly(deps.managementToken, 'Direct orders') } : {}),
      },
      (request, reply) =>
        acceptOrder(deps, inFlight, request, reply, route.channel, (orderId, at) =>
          route.firstMessage(orderId, at, request.body),
        ),
    );
  }

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
      if (!order) {
        const window =
          deps.orders.windowMs === undefined
            ? ''
            : `: this gateway keeps the last ${spanOfTime(deps.orders.windowMs)} of orders (ITUNA_HISTORY_WINDOW), so an older order is not known here`;
        throw new HttpError(404, 'not_found', `no order ${request.params.id}${window}`);
      }
      const times = order.history.map((h) => Date.parse(h.at));
      const traceUrl = deps.traceUiUrl && order.traceId ? `${deps.traceUiUrl}/trace/${order.traceId}` : undefined;
      return {
        ...order,
        timeline: { totalMs: Math.max(...times) - Math.min(...times), traceUrl, stages: timelineOf(order) },
      };
    },
  );
};

/** A window's length as people say it: 1 h, 90 min, 2 d. */
function spanOfTime(ms: number): string {
  const units: Array<[number, string]> = [
    [86_400_000, 'd'],
    [3_600_000, 'h'],
    [60_000, 'min'],
    [1000, 's'],
  ];
  const [size, name] = units.find(([size]) => ms % size === 0) ?? [1000, 's'];
  return `${ms / size} ${name}`;
}
