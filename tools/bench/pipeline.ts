import { runLoad } from '../../load/runner.ts';
import { pause } from './measure.ts';

/** The whole pipeline with no simulated work and chefs enough that no ticket waits for one: what the services cost. */
export const PIPELINE_ENV = { ITUNA_DELAYS: 'address=0,name=0,inventory=0,cook=0', ITUNA_KITCHEN_CHEFS: '64' };

/** A load scenario: `rate` orders/s, open model, for `seconds`. */
export const fixedRate = (rate: number, seconds: number) => ({
  description: 'bench',
  startRate: rate,
  stages: [{ seconds, target: rate }],
  maxInFlight: 2000,
});

/** Polls GET /orders/{id} until each order is ready or `limitMs` passed; returns when each became ready (from its history). */
export async function settle(gatewayUrl: string, orderIds: string[], limitMs: number): Promise<Map<string, number>> {
  const begun = Date.now();
  const readyAt = new Map<string, number>();
  await pause(500);
  while (readyAt.size < orderIds.length && Date.now() - begun < limitMs) {
    const pending = orderIds.filter((o) => !readyAt.has(o));
    for (let i = 0; i < pending.length; i += 50) {
      await Promise.all(
        pending.slice(i, i + 50).map(async (id) => {
          const order = (await (await fetch(`${gatewayUrl}/orders/${id}`)).json()) as {
            history?: Array<{ status: string; at: string }>;
          };
          const ready = order.history?.find((h) => h.status === 'ready');
          if (ready) readyAt.set(id, Date.parse(ready.at));
        }),
      );
    }
    if (readyAt.size < orderIds.length) await pause(300);
  }
  return readyAt;
}

/** A few seconds of orders before measuring, waited for until ready: JIT, connections, consumer groups settled. */
export async function warmUp(gatewayUrl: string, untilReady: boolean, seconds = 2): Promise<void> {
  const run = await runLoad({ baseUrl: gatewayUrl, scenario: fixedRate(100, seconds), runId: 'bench-warm-up' });
  if (untilReady)
    await settle(
      gatewayUrl,
      run.accepted.map((a) => a.orderId),
      15_000,
    );
}
