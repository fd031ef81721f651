import { trace } from '@opentelemetry/api';
import { simulateWork } from '../../common/restaurant/delays.ts';
import type { Delays } from '../../common/restaurant/delays.ts';
import { outgoing } from '../../common/kafka/publish.ts';
import type { Outgoing } from '../../common/kafka/publish.ts';
import type { Fencing, HandledOrders } from '../handled-orders.ts';
import { orderBaggage } from '../../common/restaurant/baggage.ts';
import { kitchenTickets, type ordersPlaced, ordersStatus } from '../../common/topics/index.ts';
import type { OrderPlaced } from '../../common/topics/index.ts';
import type { WorkerContext, WorkerDefinition } from '../../common/kafka/worker.ts';
import { CONSUMER_GROUPS } from '../consumer-groups.ts';
import { checkAddress, checkInventory, checkName } from './checks.ts';
import type { CheckResult } from './checks.ts';

const tracer = trace.getTracer('ituna-order-validation');

/** Runs one check as its own span, after the stage's simulated work. */
function runCheck(name: keyof Delays, delays: Delays, check: () => CheckResult): Promise<CheckResult> {
  return tracer.startActiveSpan(`validate ${name}`, async (span) => {
    try {
      span.setAttribute('ituna.simulated_work_ms', await simulateWork(delays[name]));
      const result = check();
      span.setAttributes({ 'ituna.validation.check': name, 'ituna.validation.result': result.result });
      if (result.problems.length > 0) span.setAttribute('ituna.validation.problems', result.problems);
      return result;
    } finally {
      span.end();
    }
  });
}

/** Orders this worker has validated or rejected: an order delivered again is not validated twice. */
export type ValidatedOrders = Pick<HandledOrders, 'has' | 'add'>;

/**
 * Sends the outcome of an order: fenced, committed with the order's offset (the next order does not wait for the
 * commit, and a redelivery meanwhile waits for the commit to know whether it was handled); otherwise sent and acknowledged.
 */
async function report(context: WorkerContext, handled: ValidatedOrders, orderId: string, messages: Outgoing[]) {
  if (context.commit) {
    handled.add(orderId, context.commit(messages));
    return;
  }
  await context.send(messages);
  handled.add(orderId);
}

/** Validates a placed order: three independent checks at once; valid orders go to the kitchen, others are rejected with reasons. */
export async function validateOrder(
  order: OrderPlaced,
  context: WorkerContext,
  delays: Delays,
  handled: ValidatedOrders,
): Promise<void> {
  // Kafka delivers at least once, and an operator may replay a dead letter: an order already decided stays decided.
  if (await handled.has(order.orderId)) {
    trace.getActiveSpan()?.setAttribute('ituna.duplicate', true);
    context.log.info('order already validated; not validating it again');
    return;
  }
  // The checks are children of the order's `process orders.placed` span, which carries the outcome: a span of its own
  // around them would say the same thing again.
  const results = await Promise.all([
    runCheck('address', delays, () => checkAddress(order.channel, order.deliveryAddress)),
    runCheck('name', delays, () => checkName(order.customerName)),
    runCheck('inventory', delays, () => checkInventory(order.items)),
  ]);
  trace
    .getActiveSpan()
    ?.setAttribute('ituna.validation.result', results.some((c) => c.result === 'failed') ? 'rejected' : 'valid');

  const at = new Date().toISOString();
  const reasons = results.flatMap((r) => r.problems.map((message) => ({ check: r.check, message })));
  if (reasons.length > 0) {
    context.log.info({ reasons }, 'order rejected');
    await report(context, handled, order.orderId, [
      outgoing(ordersStatus, {
        orderId: order.orderId,
        channel: order.channel,
        status: 'rejected',
        at,
        startedAt: context.receivedAt,
        reasons,
      }),
    ]);
    return;
  }
  await report(context, handled, order.orderId, [
    outgoing(kitchenTickets, { orderId: order.orderId, channel: order.channel, ticketedAt: at, items: order.items }),
    outgoing(ordersStatus, {
      orderId: order.orderId,
      channel: order.channel,
      status: 'validated',
      at,
      startedAt: context.receivedAt,
    }),
  ]);
  context.log.info('order validated');
}

/**
 * The order-validation worker: consumes `orders.placed` in group `ituna-order-validation`. Fenced, each partition is
 * claimed before its first order, and the claim waits until the record of decided orders holds every decision
 * committed before it, by whichever replica had the partition.
 */
export function validationWorker(
  delays: Delays,
  concurrency: number,
  handled: ValidatedOrders & Pick<HandledOrders, 'catchUp'>,
  fencing: Fencing,
): WorkerDefinition<typeof ordersPlaced.schema> {
  return {
    ...(fencing === 'transactions' ? { onPartitionClaimed: () => handled.catchUp() } : {}),
    ...CONSUMER_GROUPS.validation,
    concurrency,
    baggageOf: orderBaggage,
    logFieldsOf: (order) => ({ orderId: order.orderId }),
    handle: (order, context) => validateOrder(order, context, delays, handled),
  };
}
