import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { percentiles } from '../tools/traces/percentiles.ts';
import type { Percentiles } from '../tools/traces/percentiles.ts';
import { durationOf, makeOrder, newTraceparent, pickRoute, rateAt } from './scenarios.js';
import type { Scenario, Thresholds } from './scenarios.js';

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
  /** The latency of the answers that were not errors (status below 400), as k6's `expected_response:true`. */
  expectedLatency: Percentiles;
  /** Accepted orders, with when the request was sent (epoch ms) and the Idempotency-Key it was sent with. */
  accepted: Array<{ orderId: string; traceId: string; sentAt: number; key?: string }>;
  /** Requests sent again with their Idempotency-Key after a 503, a 409 or no answer (with `retryWithKeys`). */
  retries: number;
  /**
   * Orders whose client stopped without a 202 after a 503 had named them (`Location`): they may have been placed, as
   * that 503 said.
   */
  mayBePlaced: Array<{ orderId: string; key?: string }>;
}

/** One threshold of a run: what it measures, its limit as k6 writes it, the value seen, and whether it held. */
export interface ThresholdResult {
  metric: string;
  limit: string;
  value: number;
  ok: boolean;
}

/**
 * The scenario's thresholds (load/scenarios.js) applied to what the Node runner saw, as k6 applies them to its
 * metrics: `checks` (orders accepted), `http_req_failed` (answers 4xx/5xx or none), `http_req_duration` p95 of the
 * answers that were not errors, `dropped_iterations` (arrivals the client could not send).
 */
export function judge(summary: LoadSummary, thresholds: Thresholds): ThresholdResult[] {
  const answered = Object.values(summary.byStatus).reduce((n, c) => n + c, 0);
  const accepted = summary.byStatus[202] ?? 0;
  const failed = Object.entries(summary.byStatus)
    .filter(([status]) => status === 'network' || Number(status) >= 400)
    .reduce((n, [, c]) => n + c, 0);
  const rate = (part: number) => (answered === 0 ? 0 : part / answered);
  return [
    {
      metric: 'checks',
      limit: `rate>=${thresholds.checks}`,
      value: rate(accepted),
      ok: rate(accepted) >= thresholds.checks,
    },
    {
      metric: 'http_req_failed',
      limit: `rate<=${thresholds.failed}`,
      value: rate(failed),
      ok: rate(failed) <= thresholds.failed,
    },
    {
      metric: 'http_req_duration{expected_response:true}',
      limit: `p(95)<${thresholds.p95Ms}`,
      value: summary.expectedLatency.p95,
      ok: summary.expectedLatency.count > 0 && summary.expectedLatency.p95 < thresholds.p95Ms,
    },
    {
      metric: 'dropped_iterations',
      limit: `count<=${thresholds.dropped}`,
      value: summary.skipped,
      ok: summary.skipped <= thresholds.dropped,
    },
  ];
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
  const expectedLatencies: number[] = [];
  const byStatus: Record<string, number> = {};
  const latencies: number[] = [];
  const accepted: LoadSummary['accepted'] = [];
  const mayBePlaced: LoadSummary['mayBePlaced'] = [];
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
    let named: string | undefined;
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
        if (status === 503) named ??= /^\/orders\/(.+)$/.exec(response.headers.get('location') ?? '')?.[1];
        if (status === 202 && json.orderId)
          accepted.push({ orderId: json.orderId, traceId: json.traceId ?? '', sentAt, ...(key ? { key } : {}) });
      } catch {
        status = 'network';
      }
      if (!key || (status !== 503 && status !== 409 && status !== 'network') || attempt >= 60) {
        if (status !== 'network') latencies.push(performance.now() - started);
        if (status !== 'network' && status < 400) expectedLatencies.push(performance.now() - started);
        byStatus[status] = (byStatus[status] ?? 0) + 1;
        if (status !== 202 && named) mayBePlaced.push({ orderId: named, ...(key ? { key } : {}) });
        return;
      }
      retries++;
      await sleep(retryAfterMs);
    }
  };

  const total = durationOf(scenario);
  const start = performance.now();
  const end = start + total * 1000;
  let due = 0;
  let last = start;
  let lastReport = start;
  for (;;) {
    // Up to the end of the run, not past it: the arrivals due before the end are sent even when this loop wakes late
    // (a busy client on shared cores), so a run offers the whole of its rate × duration.
    const now = Math.min(performance.now(), end);
    const t = (now - start) / 1000;
    // The rate of the interval's start: at the run's end the rate is past its last stage.
    due += (rateAt(scenario, (last - start) / 1000) * (now - last)) / 1000;
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
    // Against `end` itself: (end - start) / 1000 can fall a rounding short of `total`.
    if (now >= end) break;
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
    expectedLatency: percentiles(expectedLatencies),
    accepted,
    retries,
    mayBePlaced,
  };
}
