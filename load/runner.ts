import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { percentiles } from '../tools/traces/percentiles.ts';
import type { Percentiles } from '../tools/traces/percentiles.ts';
import { durationOf, makeOrder, newTraceparent, pickRoute, rateAt } from './scenarios.js';
import type { Scenario } from './scenarios.js';

/** What a load run did, as the client saw it. */
export interface LoadSummary {
  runId: string;
  seconds: number;
  sent: number;
  /** Responses by HTTP status, plus `network` for requests that got no response. */
  byStatus: Record<string, number>;
  /** Arrivals skipped because maxInFlight requests were already waiting (the client, not the server, was full). */
  skipped: number;
  latency: Percentiles;
  /** Accepted orders, with when the request was sent (epoch ms) and the Idempotency-Key it was sent with. */
  accepted: Array<{ orderId: string; traceId: string; sentAt: number; key?: string }>;
  /** Requests sent again with their Idempotency-Key after a 503, a 409 or no answer (with `retryWithKeys`). */
  retries: number;
}

/** Runs a scenario against the gateway at `baseUrl`: open-model arrivals at the scenario's rate, each order its own trace. */
export async function runLoad(options: {
  baseUrl: string;
  scenario: Scenario;
  runId: string;
  token?: string;
  onProgress?: (line: string) => void;
  /**
   * Each order carries an Idempotency-Key and is sent again after a 503, a 409 (its first request still in flight) or
   * no answer (at most 60 times), as a careful client does.
   */
  retryWithKeys?: boolean;
}): Promise<LoadSummary> {
  const { baseUrl, scenario, runId, token } = options;
  const byStatus: Record<string, number> = {};
  const latencies: number[] = [];
  const accepted: LoadSummary['accepted'] = [];
  const inFlight = new Set<Promise<void>>();
  let sent = 0;
  let skipped = 0;
  let retries = 0;

  const send = async () => {
    const { path, body } = makeOrder(pickRoute(Boolean(token)));
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      traceparent: newTraceparent(),
      baggage: `ituna.run.id=${runId}`,
    };
    if (path === '/orders/direct' && token) headers.authorization = `Bearer ${token}`;
    const key = options.retryWithKeys ? randomUUID() : undefined;
    if (key) headers['idempotency-key'] = key;
    const started = performance.now();
    const sentAt = Date.now();
    for (let attempt = 1; ; attempt++) {
      let status: number | 'network';
      let retryAfterMs = 1000;
      try {
        const response = await fetch(`${baseUrl}${path}`, {
          method: 'POST',
          headers,
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(30_000),
        });
        const json = (await response.json()) as { orderId?: string; traceId?: string };
        status = response.status;
        retryAfterMs = Number(response.headers.get('retry-after') ?? 1) * 1000;
        if (status === 202 && json.orderId)
          accepted.push({ orderId: json.orderId, traceId: json.traceId ?? '', sentAt, ...(key ? { key } : {}) });
      } catch {
        status = 'network';
      }
      if (!key || (status !== 503 && status !== 409 && status !== 'network') || attempt >= 60) {
        if (status !== 'network') latencies.push(performance.now() - started);
        byStatus[status] = (byStatus[status] ?? 0) + 1;
        return;
      }
      retries++;
      await sleep(retryAfterMs);
    }
  };

  const total = durationOf(scenario);
  const start = performance.now();
  let due = 0;
  let last = start;
  let lastReport = start;
  for (;;) {
    const now = performance.now();
    const t = (now - start) / 1000;
    if (t >= total) break;
    due += (rateAt(scenario, t) * (now - last)) / 1000;
    last = now;
    for (; due >= 1; due--) {
      if (inFlight.size >= scenario.maxInFlight) {
        skipped++;
        continue;
      }
      sent++;
      const request = send().finally(() => inFlight.delete(request));
      inFlight.add(request);
    }
    if (now - lastReport >= 1000) {
      lastReport = now;
      const ok = byStatus[202] ?? 0;
      options.onProgress?.(
        `${t.toFixed(0)}/${total}s  rate ${rateAt(scenario, t).toFixed(0)}/s  sent ${sent}  202 ${ok}  other ${sent - ok - inFlight.size}  in flight ${inFlight.size}`,
      );
    }
    await sleep(5);
  }
  await Promise.all(inFlight);
  return {
    runId,
    seconds: (performance.now() - start) / 1000,
    sent,
    byStatus,
    skipped,
    latency: percentiles(latencies),
    accepted,
    retries,
  };
}
