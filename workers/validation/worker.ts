import { trace } from '@opentelemetry/api';
import { simulateWork } from '../../common/restaurant/delays.ts';
import type { Delays } from '../../common/restaurant/delays.ts';
import { outgoing } from '../../common/kafka/publish.ts';
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

/** Validates a placed order: three independent checks at once; valid orders go to the kitchen, others are rejected with reasons. */
export async function validateOrder(order: OrderPlaced, context: WorkerContext, delays: Delays): Promise<void> {
  const results = await tracer.startActiveSpan('validate order', async (span) => {
    try {
      const checks = await Promise.all([
        runCheck('address', delays, () => checkAddress(order.channel, order.deliveryAddress)),
        runCheck('name', delays, () => checkName(order.customerName)),
        runCheck('inventory', delays, () => checkInventory(order.items)),
      ]);
      span.setAttribute('ituna.validation.result', checks.some((c) => c.result === 'failed') ? 'rejected' : 'valid');
      return checks;
    } finally {
      span.end();
    }
  });

  const at = new Date().toISOString();
  const reasons = results.flatMap((r) => r.problems.map((message) => ({ check: r.check, message })));
  if (reasons.length > 0) {
    context.log.info({ reasons }, 'order rejected');
    await context.send([
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
  await context.send([
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

/** The order-validation worker: consumes `orders.placed` in group `ituna-order-validation`. */
export function validationWorker(delays: Delays, concurrency: number): WorkerDefinition<typeof ordersPlaced.schema> {
  return {
    ...CONSUMER_GROUPS.validation,
    concurrency,
    baggageOf: orderBaggage,
    logFieldsOf: (order) => ({ orderId: order.orderId }),
    handle: (order, context) => validateOrder(order, context, delays),
  };
}
