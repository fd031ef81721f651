import { trace } from '@opentelemetry/api';
import { simulateWork } from '../../common/delays.ts';
import type { Delay } from '../../common/delays.ts';
import { outgoing } from '../../common/kafka.ts';
import { kitchenTickets, ordersStatus } from '../../common/topics/index.ts';
import type { KitchenTicket } from '../../common/topics/index.ts';
import type { WorkerContext, WorkerDefinition } from '../../common/worker.ts';

const tracer = trace.getTracer('ituna-kitchen');

/** The kitchen of one worker process: how many chefs it has and how many are cooking right now. */
export interface Kitchen {
  chefs: number;
  busy: number;
  cookDelay: Delay;
}

/** Cooks one ticket: reports `cooking`, prepares each order line in turn (one span each), then reports `ready`. */
export async function cookTicket(ticket: KitchenTicket, context: WorkerContext, kitchen: Kitchen): Promise<void> {
  const status = (status: 'cooking' | 'ready') =>
    outgoing(ordersStatus, { orderId: ticket.orderId, channel: ticket.channel, status, at: new Date().toISOString() });

  await context.send([status('cooking')]);
  kitchen.busy++;
  try {
    await tracer.startActiveSpan('cook order', async (span) => {
      span.setAttributes({ 'ituna.kitchen.chefs': kitchen.chefs, 'ituna.kitchen.chefs.busy': kitchen.busy, 'ituna.kitchen.items': ticket.items.length });
      try {
        for (const item of ticket.items) {
          await tracer.startActiveSpan(`prepare ${item.menuItemId}`, async (itemSpan) => {
            itemSpan.setAttributes({ 'ituna.kitchen.menu_item': item.menuItemId, 'ituna.kitchen.quantity': item.quantity });
            itemSpan.setAttribute('ituna.simulated_work_ms', await simulateWork(kitchen.cookDelay));
            itemSpan.end();
          });
        }
      } finally {
        span.end();
      }
    });
  } finally {
    kitchen.busy--;
  }
  await context.send([status('ready')]);
  context.log.info('order ready');
}

/** The kitchen worker: consumes `kitchen.tickets` in group `ituna-kitchen`, cooking as many orders at once as it has chefs. */
export function kitchenWorker(chefs: number, cookDelay: Delay): WorkerDefinition<typeof kitchenTickets.schema> {
  const kitchen: Kitchen = { chefs, busy: 0, cookDelay };
  return {
    groupId: 'ituna-kitchen',
    topic: kitchenTickets,
    concurrency: chefs,
    orderOf: (ticket) => ({ id: ticket.orderId, channel: ticket.channel }),
    handle: (ticket, context) => cookTicket(ticket, context, kitchen),
  };
}
