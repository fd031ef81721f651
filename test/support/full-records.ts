import { createOrderHistory } from '../../gateway/order-history.ts';
import { handledRecord } from '../../workers/handled-orders.ts';

// The records a service keeps with a full history window, built as reading the history builds them; for measuring
// their memory in a thread of their own (test/support/memory.ts).

const hex = (i: number, length: number) => i.toString(16).padStart(length, '0');

/** The gateway's history of 100 000 orders, each with four statuses, a trace id, and half with a request hash. */
export function fullOrderHistory() {
  const history = createOrderHistory(100_000);
  const at = Date.UTC(2026, 0, 1);
  for (let i = 0; i < 100_000; i++) {
    // As the follower reads them: each id a string of its own, parsed from the message.
    const { orderId } = JSON.parse(`{"orderId":"${hex(i, 8)}-0000-4000-8000-${hex(i, 12)}"}`) as { orderId: string };
    const time = (ms: number) => new Date(at + i * 10 + ms).toISOString();
    const hash = i % 2 ? { requestHash: hex(i, 64) } : {};
    history.apply({ orderId, channel: 'online', status: 'accepted', at: time(0), ...hash }, { traceId: hex(i, 32) });
    history.apply({ orderId, channel: 'online', status: 'validated', at: time(20), startedAt: time(5) });
    history.apply({ orderId, channel: 'online', status: 'cooking', at: time(40), startedAt: time(30) });
    history.apply({ orderId, channel: 'online', status: 'ready', at: time(90), startedAt: time(40) });
  }
  return history;
}

/** A worker's record of 100 000 handled orders. */
export function fullHandledRecord() {
  const record = handledRecord(100_000);
  for (let i = 0; i < 100_000; i++) record.add(`${hex(i, 8)}-0000-4000-8000-${hex(i, 12)}`);
  return record;
}
