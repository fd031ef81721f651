import { trace } from '@opentelemetry/api';
import { simulateWork } from '../../common/restaurant/delays.ts';
import type { Delays } from '../../common/restaurant/delays.ts';
import { outgoing } from '../../common/kafka/publish.ts';
import { orderBaggage } from '../../common/restaurant/baggage.ts';
import { kitchenTickets, ordersStatus } from '../../common/topics/index.ts';
import type { KitchenTicket } from '../../common/topics/index.ts';
import type { WorkerContext, WorkerDefinition } from '../../common/kafka/worker.ts';
import { CONSUMER_GROUPS } from '../consumer-groups.ts';
import type { Chefs } from './chefs.ts';
import type { Fencing, HandledOrders } from '../handled-orders.ts';
import type { Logger } from '../../common/logger.ts';

const tracer = trace.getTracer('ituna-kitchen');

/** The kitchen of one worker process: its chefs and how long a dish takes (both may change while it runs). */
export interface Kitchen {
  chefs: Chefs;
  delays: Delays;
  /** Orders already reported ready: a ticket for one of them is a redelivery. */
  cooked: Pick<HandledOrders, 'has' | 'add'>;
}

/** The kitchen's record of cooked orders as the worker needs it: it must be able to catch up with orders.status. */
export interface KitchenWithHistory extends Kitchen {
  cooked: Kitchen['cooked'] & Pick<HandledOrders, 'catchUp'>;
}

/** Cooks one ticket: waits for a free chef, reports `cooking`, prepares each order line in turn (a span each), then reports `ready`. */
export async function cookTicket(ticket: KitchenTicket, context: WorkerContext, kitchen: Kitchen): Promise<void> {
  // Kafka delivers at least once: a ticket whose offset was not committed before a crash comes back.
  if (await kitchen.cooked.has(ticket.orderId)) {
    trace.getActiveSpan()?.setAttribute('ituna.duplicate', true);
    context.log.info('ticket already cooked; not cooking it again');
    return;
  }
  const status = (status: 'cooking' | 'ready', startedAt: string) =>
    outgoing(ordersStatus, {
      orderId: ticket.orderId,
      channel: ticket.channel,
      status,
      at: new Date().toISOString(),
      startedAt,
    });

  const release = await tracer.startActiveSpan('wait for chef', async (span) => {
    span.setAttributes({ 'ituna.kitchen.chefs': kitchen.chefs.count, 'ituna.kitchen.chefs.busy': kitchen.chefs.busy });
    const done = await kitchen.chefs.acquire();
    span.end();
    return done;
  });
  let cookingSince: string;
  let cooking: Promise<unknown>;
  try {
    // Reported as cooking starts, but the chef does not wait for Kafka's acknowledgement: that is awaited with
    // `ready`'s, and `cooking` is never published after `ready`.
    cooking = context.send([status('cooking', context.receivedAt)]);
    cooking.catch(() => {}); // a failure is thrown where it is awaited, below, not reported as unhandled meanwhile
    cookingSince = new Date().toISOString();
    await tracer.startActiveSpan('cook order', async (span) => {
      span.setAttributes({
        'ituna.kitchen.chefs': kitchen.chefs.count,
        'ituna.kitchen.chefs.busy': kitchen.chefs.busy,
        'ituna.kitchen.items': ticket.items.length,
      });
      try {
        for (const item of ticket.items) {
          await tracer.startActiveSpan(`prepare ${item.menuItemId}`, async (itemSpan) => {
            itemSpan.setAttributes({
              'ituna.kitchen.menu_item': item.menuItemId,
              'ituna.kitchen.quantity': item.quantity,
            });
            itemSpan.setAttribute('ituna.simulated_work_ms', await simulateWork(kitchen.delays.cook));
            itemSpan.end();
          });
        }
      } finally {
        span.end();
      }
    });
  } finally {
    release();
  }
  if (context.commit) {
    // Fenced: `ready` is committed with the ticket's offset in a transaction that only the replica holding the
    // ticket's partition can commit, so a replica that lost the partition while it cooked publishes nothing. That
    // transaction is another producer's: it waits until `cooking` is acknowledged, so `ready` comes after it. The
    // chef moves on to the next ticket meanwhile; a redelivery of this one waits for that commit (cooked again only
    // if it fails).
    const ready = context.commit([status('ready', cookingSince)], cooking);
    kitchen.cooked.add(ticket.orderId, ready);
    ready.then(
      () => context.log.info('order ready'),
      () => {},
    );
    return;
  }
  // One producer keeps `cooking` (queued first) before `ready`; both acknowledgements are awaited.
  await Promise.all([cooking, context.send([status('ready', cookingSince)])]);
  kitchen.cooked.add(ticket.orderId);
  context.log.info('order ready');
}

/**
 * The kitchen worker: consumes `kitchen.tickets` in group `ituna-kitchen` from every partition it owns; chefs set how
 * many cook at once. Each ticket partition is claimed (fenced) before its first ticket, and the claim waits until the
 * record of cooked orders holds every `ready` committed before it, by whichever replica had the partition.
 */
export function kitchenWorker(
  kitchen: KitchenWithHistory,
  fencing: Fencing,
): WorkerDefinition<typeof kitchenTickets.schema> {
  return {
    ...(fencing === 'transactions'
      ? { onPartitionClaimed: () => kitchen.cooked.catchUp() }
      : {
          // Given fewer than all partitions, this replica shares the tickets with another: unfenced, a replica that
          // loses a partition while it cooks can still report the order ready after its successor cooked it.
          onAssignment: (partitions: number[], log: Logger) => {
            if (partitions.length < kitchenTickets.partitions) {
              log.warn(
                { partitions, of: kitchenTickets.partitions },
                'another kitchen replica shares the tickets, without fencing: an order can be reported ready twice after a rebalance; unset ITUNA_KITCHEN_FENCING (or set it to transactions) on every replica',
              );
            }
          },
        }),
    ...CONSUMER_GROUPS.kitchen,
    concurrency: kitchenTickets.partitions,
    baggageOf: orderBaggage,
    logFieldsOf: (ticket) => ({ orderId: ticket.orderId }),
    handle: (ticket, context) => cookTicket(ticket, context, kitchen),
  };
}
