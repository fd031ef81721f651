import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { trace } from '@opentelemetry/api';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Static, TSchema } from 'typebox';
import Type from 'typebox';
import { PublisherFullError, outgoing } from '../../common/kafka/publish.ts';
import type { Outgoing } from '../../common/kafka/publish.ts';
import { withOrderBaggage } from '../../common/restaurant/baggage.ts';
import { OrderId } from '../../common/restaurant/order.ts';
import type { Channel } from '../../common/restaurant/order.ts';
import { kitchenTickets, ordersPlaced, ordersStatus } from '../../common/topics/index.ts';
import { managementOnly } from '../auth.ts';
import { DEFAULT_PUBLISH_DEADLINE_MS } from '../deps.ts';
import type { GatewayDeps } from '../deps.ts';
import type { OrderRecord } from '../order-history.ts';
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

const errors = {
  400: ErrorResponse,
  409: ErrorResponse,
  415: ErrorResponse,
  422: ErrorResponse,
  429: ErrorResponse,
  503: ErrorResponse,
};
const managementErrors = { 401: ErrorResponse, 403: ErrorResponse };

const kafkaUnavailable = (message: string, headers: Record<string, string> = {}) =>
  new HttpError(503, 'kafka_unavailable', message, { 'retry-after': '1', ...headers });

/** How often a request whose key another request holds looks for that order's acceptance. */
const ACCEPTANCE_POLL_MS = 20;

/** The accepted answer for an order, as its first request heard it. */
const acceptedBody = (orderId: string, traceId: string | undefined) => ({
  orderId,
  status: 'accepted' as const,
  ...(traceId ? { traceId } : {}),
});

/** A keyed request's outcome: this request placed the order, or an earlier one did (same body, or 422 thrown). */
type KeyedOutcome = { placed: true } | { placed: false; traceId?: string };

/** The answer for a key whose order is known: the first answer again, or 422 when the key was used otherwise. */
function replayOf(record: OrderRecord, requestHash: string): KeyedOutcome {
  const acceptedAt = Date.parse(record.history.find((h) => h.status === 'accepted')?.at ?? record.history[0]!.at);
  if (Date.now() - acceptedAt > IDEMPOTENCY_WINDOW_MS) {
    throw new HttpError(
      422,
      'idempotency_key_reused',
      'This Idempotency-Key was used more than 24 h ago; send a new key for a new order.',
    );
  }
  if (record.requestHash && record.requestHash !== requestHash) {
    throw new HttpError(
      422,
      'idempotency_key_reused',
      'This Idempotency-Key was used with another request; send a new key for a new order.',
    );
  }
  return { placed: false, traceId: record.traceId };
}

/**
 * Places a keyed order once, whichever requests race for its key on whichever replicas. The request first writes a
 * claim to the order's partition of orders.status and reads that partition back up to it: the first live claim of
 * the order id there owns the order (`claimOf`), as every replica reads it. The owner places the order; a request
 * with another body gets 422; one with the same body waits for the owner's `accepted`, then hears the same answer
 * (or 409 while the owner is still at it).
 */
async function placeKeyed(
  deps: GatewayDeps,
  order: { orderId: string; channel: Channel; requestHash: string; deadlineMs: number },
  place: (claimId: string) => Promise<unknown>,
): Promise<KeyedOutcome> {
  const { orderId, channel, requestHash } = order;
  const known = deps.orders.get(orderId);
  if (known) return replayOf(known, requestHash);
  const claimId = randomUUID();
  const claim = { orderId, channel, status: 'claimed' as const, at: new Date().toISOString(), requestHash, claimId };
  const [written] = await deps.publish([outgoing(ordersStatus, claim)]);
  // A gateway without a follower (an HTTP test) is the only writer: it reads its own claim as it wrote it.
  if (deps.readBack && written) await deps.readBack(written);
  else deps.orders.apply(claim);
  const accepted = deps.orders.get(orderId);
  if (accepted) return replayOf(accepted, requestHash);
  const owner = deps.orders.claimOf(orderId);
  if (owner?.claimId === claimId) {
    await place(claimId);
    return { placed: true };
  }
  if (owner && owner.requestHash !== requestHash) {
    throw new HttpError(
      422,
      'idempotency_key_reused',
      'This Idempotency-Key is being used with another request; send a new key for a new order.',
    );
  }
  for (const until = Date.now() + order.deadlineMs; Date.now() < until; await sleep(ACCEPTANCE_POLL_MS)) {
    const record = deps.orders.get(orderId);
    if (record) return replayOf(record, requestHash);
  }
  throw new HttpError(
    409,
    'idempotency_key_in_use',
    'A request with this Idempotency-Key is still being placed. Send it again shortly to hear its answer.',
    { 'retry-after': '1' },
  );
}

/**
 * Tags the request's spans with the order, publishes its messages under the order's baggage, records it as accepted.
 * With an Idempotency-Key the order id is derived from the key and the key's claim decides which request places it.
 * The work goes on when the caller stops waiting: an order answered 503 may still be placed, and the answer says so.
 */
async function acceptOrder(
  deps: GatewayDeps,
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

  const place = (claimId?: string) => {
    const at = new Date().toISOString();
    const accepted = {
      orderId,
      channel,
      status: 'accepted' as const,
      at,
      ...(requestHash ? { requestHash } : {}),
      ...(claimId ? { claimId } : {}),
    };
    // Once Kafka has it, the order is in the history — also when that happens after its caller heard 503.
    return deps
      .publish([first(orderId, at), outgoing(ordersStatus, accepted)])
      .then(() => deps.orders.apply(accepted, { traceId }));
  };
  const work = withOrderBaggage(
    { orderId, channel },
    (): Promise<KeyedOutcome> =>
      requestHash === undefined
        ? place().then(() => ({ placed: true }))
        : placeKeyed(deps, { orderId, channel, requestHash, deadlineMs }, place),
  );
  let outcome: KeyedOutcome;
  try {
    outcome = await withDeadline(work, deadlineMs);
  } catch (error) {
    if (error instanceof HttpError) throw error;
    request.log.warn({ err: error, orderId }, 'could not publish the order in time');
    if (error instanceof PublisherFullError) {
      throw kafkaUnavailable('Kafka is not keeping up; nothing was accepted. Try again shortly.');
    }
    throw kafkaUnavailable(
      requestHash === undefined
        ? `The order could not be queued in time; it may still be placed, as order ${orderId}: look it up before sending it again, or send orders with an Idempotency-Key.`
        : 'The order could not be queued in time; it may still be placed. Send it again with the same Idempotency-Key to find out.',
      { location: `/orders/${orderId}` },
    );
  }
  if (!outcome.placed) {
    request.log.info({ orderId, channel }, 'order repeated with its Idempotency-Key; nothing new placed');
    return reply
      .code(202)
      .header('location', `/orders/${orderId}`)
      .header('idempotent-replayed', 'true')
      .send(acceptedBody(orderId, outcome.traceId));
  }
  request.acceptedOrder = { orderId, channel };
  return reply.code(202).header('location', `/orders/${orderId}`).send(acceptedBody(orderId, traceId));
}

/** The order routes: website, on-site, management's direct orders, and an order's status. */
export const orderRoutes: FastifyPluginAsyncTypebox<{ deps: GatewayDeps }> = async (app, { deps }) => {
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
        acceptOrder(deps, request, reply, route.channel, (orderId, at) =>
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
