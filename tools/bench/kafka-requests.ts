import { writeFileSync } from 'node:fs';
import { Kafka } from 'kafkajs';
import type { RequestEvent } from 'kafkajs';

/** Kafka requests answered, by the second they were answered in (epoch seconds), then by API name (`Produce`, …). */
export type RequestCounts = Record<string, Record<string, number>>;

/**
 * Counts every request that the producers, consumers and admin clients made from now on by `kafka` (kafkajs's
 * `Kafka` class) get answered, through kafkajs's own `network.request` events. A broker's cost follows the requests it
 * serves more than the messages in them, so this is what tells where a pipeline's broker CPU goes.
 */
function countKafkaRequests(kafka: typeof Kafka): RequestCounts {
  const counts: RequestCounts = {};
  const count = ({ payload }: RequestEvent) => {
    const second = Math.floor(Date.now() / 1000);
    counts[second] ??= {};
    counts[second][payload.apiName] = (counts[second][payload.apiName] ?? 0) + 1;
  };
  for (const method of ['producer', 'consumer', 'admin'] as const) {
    // Producers, consumers and admin clients each type their events apart; all three emit `network.request`.
    const make = kafka.prototype[method] as (...args: unknown[]) => {
      events: { REQUEST: string };
      on(event: string, listener: (event: RequestEvent) => void): unknown;
    };
    Object.defineProperty(kafka.prototype, method, {
      configurable: true,
      writable: true,
      value(this: Kafka, ...args: unknown[]) {
        const client = make.apply(this, args);
        client.on(client.events.REQUEST, count);
        return client;
      },
    });
  }
  return counts;
}

/** The requests of `counts` answered in the seconds from `fromMs` to `toMs` (epoch milliseconds), by API. */
export function requestsBetween(counts: RequestCounts, fromMs: number, toMs: number): Map<string, number> {
  const result = new Map<string, number>();
  for (const [second, byApi] of Object.entries(counts)) {
    const at = Number(second) * 1000;
    if (at + 1000 <= fromMs || at > toMs) continue;
    for (const [api, n] of Object.entries(byApi)) result.set(api, (result.get(api) ?? 0) + n);
  }
  return result;
}

// Loaded with `node --import` into a service (`npm run bench:profile -- --pipeline`): counts that process's requests
// and writes them, as JSON, to the file ITUNA_BENCH_KAFKA_REQUESTS names when it exits.
const file = process.env.ITUNA_BENCH_KAFKA_REQUESTS;
if (file) {
  const counts = countKafkaRequests(Kafka);
  process.once('exit', () => writeFileSync(file, JSON.stringify(counts)));
}
