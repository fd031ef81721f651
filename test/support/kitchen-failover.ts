import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka, Producer } from 'kafkajs';
import { readTopic } from '../../common/kafka/follower.ts';
import { kitchenTickets, ordersStatus } from '../../common/topics/index.ts';
import { spawnService } from '../../tools/start/spawn-service.ts';
import type { ServiceProcess } from '../../tools/start/spawn-service.ts';
import type { FlatSpan } from '../../tools/traces/otlp.ts';
import type { TraceReceiver } from './trace-receiver.ts';

/** What one round of the failover left in orders.status and the traces. */
export interface FailoverRound {
  orders: number;
  /** Orders with no `ready`. */
  lost: string[];
  /** Orders with more than one `ready`. */
  readyTwice: string[];
  /** Orders cooked twice whose trace does not show a first cooking cut off by the kill. */
  cookedTwiceUnexplained: string[];
  /** Orders cooked twice because the killed kitchen had them on the stove (each trace shows both cookings). */
  recooked: number;
}

/**
 * Two kitchen replicas with their default settings share a stream of tickets; one is SIGKILLed while it cooks, a
 * third joins, and the stream goes on. Every order must be ready exactly once, and cooked once — unless the killed
 * kitchen was cooking it, which the order's trace then shows as a `cook order` span from the killed process.
 */
export async function kitchenFailoverRound(
  {
    brokers,
    kafka,
    producer,
    receiver,
  }: { brokers: string; kafka: Kafka; producer: Producer; receiver: TraceReceiver },
  { perSecond = 40, seconds = 4 }: { perSecond?: number; seconds?: number } = {},
): Promise<FailoverRound> {
  const start = () =>
    spawnService('kitchen', {
      KAFKA_BROKERS: brokers,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_BSP_SCHEDULE_DELAY: '100',
      ITUNA_DELAYS: 'cook=150~100',
      ITUNA_KITCHEN_CHEFS: '4',
    });
  const kitchens: ServiceProcess[] = [start(), start()];
  try {
    await Promise.all(kitchens.map((k) => k.ready));
    const orderIds: string[] = [];
    const started = performance.now();
    let killed = false;
    for (let sent = 0; sent < perSecond * seconds; sent++) {
      const orderId = randomUUID();
      orderIds.push(orderId);
      const value = JSON.stringify({
        orderId,
        channel: 'direct',
        ticketedAt: new Date().toISOString(),
        items: [{ menuItemId: 'edamame', quantity: 2 }],
      });
      await producer.send({ topic: kitchenTickets.name, acks: -1, messages: [{ key: orderId, value }] });
      if (!killed && sent >= (perSecond * seconds) / 3) {
        kitchens[0]!.child.kill('SIGKILL');
        kitchens.push(start());
        killed = true;
      }
      const due = started + ((sent + 1) * 1000) / perSecond;
      await sleep(Math.max(0, due - performance.now()));
    }
    const ready = new Map<string, number>();
    const deadline = Date.now() + 60_000;
    for (;;) {
      ready.clear();
      for (const m of await readTopic(kafka, ordersStatus.name)) {
        const id = m.key?.toString() ?? '';
        if (ordersStatus.decode(m.value).status === 'ready') ready.set(id, (ready.get(id) ?? 0) + 1);
      }
      if (orderIds.every((id) => ready.has(id)) || Date.now() > deadline) break;
      await sleep(500);
    }
    // Spans of the killed process never left it; a second cooking span of an order comes from a survivor's retry.
    await sleep(500);
    const cooks = new Map<string, number>();
    for (const s of receiver.spans()) {
      const id = s.attributes['ituna.order.id'];
      if (s.name === 'cook order' && typeof id === 'string') cooks.set(id, (cooks.get(id) ?? 0) + 1);
    }
    const killedPid = String(kitchens[0]!.child.pid);
    const pidOf = (span: FlatSpan) => {
      const value = span.otlp?.resource?.attributes.find((a) => a.key === 'process.pid')?.value;
      return String(value?.intValue ?? '');
    };
    const killedCooked = new Set(
      receiver
        .spans()
        .filter((s) => s.name === 'cook order' && pidOf(s) === killedPid)
        .map((s) => s.attributes['ituna.order.id']),
    );
    const cookedTwice = orderIds.filter((id) => (cooks.get(id) ?? 0) > 1);
    return {
      orders: orderIds.length,
      lost: orderIds.filter((id) => !ready.has(id)),
      readyTwice: orderIds.filter((id) => (ready.get(id) ?? 0) > 1),
      cookedTwiceUnexplained: cookedTwice.filter((id) => !killedCooked.has(id)),
      recooked: cookedTwice.length,
    };
  } finally {
    await Promise.all(kitchens.map((k) => k.stop()));
  }
}
