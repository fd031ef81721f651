// k6 run load/k6/orders.js -e SCENARIO=steady -e BASE_URL=http://localhost:3000 [-e ITUNA_MANAGEMENT_TOKEN=…] [-e RUN_ID=…]
// Every request starts its own trace (traceparent) and carries the run id in baggage, so
// `npm run bottlenecks -- --run <RUN_ID>` reports on exactly this run.
import http from 'k6/http';
import { check } from 'k6';
import { makeOrder, newTraceparent, pickRoute, randomHex, scenarios, thresholdsOf } from '../scenarios.js';

const name = __ENV.SCENARIO || 'steady';
const scenario = scenarios[name];
if (!scenario) throw new Error(`unknown SCENARIO ${name}; one of ${Object.keys(scenarios).join(', ')}`);
const baseUrl = __ENV.BASE_URL || 'http://localhost:3000';
const token = __ENV.ITUNA_MANAGEMENT_TOKEN || __ENV.ITUNA_DIRECT_ORDER_TOKEN;
const runId = __ENV.RUN_ID || `k6-${name}-${randomHex(4)}`;
const limits = thresholdsOf(scenario);

/** @type {import('k6/options').Options} */
export const options = {
  scenarios: {
    [name]: {
      executor: 'ramping-arrival-rate',
      startRate: scenario.startRate,
      timeUnit: '1s',
      preAllocatedVUs: Math.min(50, scenario.maxInFlight),
      maxVUs: scenario.maxInFlight,
      stages: scenario.stages.map((s) => ({ duration: `${s.seconds}s`, target: s.target })),
    },
  },
  // The thresholds of load/scenarios.js, which the Node runner applies too; a crossed one makes k6 exit non-zero.
  thresholds: {
    [`checks{scenario:${name}}`]: [`rate>=${limits.checks}`],
    [`http_req_failed{scenario:${name}}`]: [`rate<=${limits.failed}`],
    [`http_req_duration{scenario:${name},expected_response:true}`]: [`p(95)<${limits.p95Ms}`],
    [`dropped_iterations{scenario:${name}}`]: [`count<=${limits.dropped}`],
  },
};

export function setup() {
  console.log(`run id ${runId}: npm run bottlenecks -- --run ${runId}`);
  return { runId };
}

export default function (/** @type {{ runId: string }} */ data) {
  const { path, body } = makeOrder(pickRoute(Boolean(token)));
  /** @type {Record<string, string>} */
  const headers = {
    'content-type': 'application/json',
    traceparent: newTraceparent(),
    baggage: `ituna.run.id=${data.runId}`,
  };
  if (path === '/orders/direct' && token) headers.authorization = `Bearer ${token}`;
  const response = http.post(`${baseUrl}${path}`, JSON.stringify(body), { headers, tags: { route: path } });
  check(response, { 'order accepted (202)': (r) => r.status === 202 });
}
