// The load scenarios, shared by the k6 script (load/k6/orders.js) and the Node runner (npm run load).
// Plain JavaScript without imports, so that k6 and Node both load it as it is.

/**
 * Arrival rates over time: each stage moves the rate (orders per second) linearly to `target` over `seconds`.
 * `thresholds` say when a run fails, the same for k6 and the Node runner (`thresholdsOf` fills in the defaults).
 * @typedef {{ seconds: number, target: number }} Stage
 * @typedef {{ checks: number, failed: number, p95Ms: number, dropped: number }} Thresholds
 * @typedef {{ description: string, startRate: number, stages: Stage[], maxInFlight: number, thresholds?: Partial<Thresholds> }} Scenario
 */

/**
 * When a run fails: fewer than `checks` of the orders accepted (202), more than `failed` of the requests answered
 * 4xx/5xx or not at all, an accepted order's p95 latency above `p95Ms`, or more than `dropped` arrivals the client
 * could not send (the arrival rate not reached).
 * @type {Thresholds}
 */
export const DEFAULT_THRESHOLDS = { checks: 0.99, failed: 0.01, p95Ms: 500, dropped: 0 };

/** A scenario's thresholds, its own over the defaults. */
export function thresholdsOf(/** @type {Scenario} */ scenario) {
  return { ...DEFAULT_THRESHOLDS, ...scenario.thresholds };
}

/** @type {Record<string, Scenario>} */
export const scenarios = {
  steady: {
    description: 'a steady 20 orders/s for 60 s: the baseline',
    startRate: 20,
    stages: [{ seconds: 60, target: 20 }],
    maxInFlight: 200,
  },
  ramp: {
    description: 'from 5 to 60 orders/s over 90 s: where does the pipeline start to queue?',
    startRate: 5,
    stages: [
      { seconds: 60, target: 60 },
      { seconds: 30, target: 60 },
    ],
    maxInFlight: 400,
  },
  spike: {
    description: '10 orders/s, a 10 s burst at 100/s, then back: does the backlog drain?',
    startRate: 10,
    // The burst queues orders on purpose: a slower answer is expected, a refused one is not.
    thresholds: { p95Ms: 1500 },
    stages: [
      { seconds: 20, target: 10 },
      { seconds: 1, target: 100 },
      { seconds: 10, target: 100 },
      { seconds: 1, target: 10 },
      { seconds: 30, target: 10 },
    ],
    maxInFlight: 600,
  },
};

/** The share of each order route in the load; direct orders need the management token and are left out without it. */
const routeMix = [
  { route: 'online', weight: 6 },
  { route: 'onsite', weight: 3 },
  { route: 'direct', weight: 1 },
];

/** Dishes a load order picks from; all on the menu and in stock, so every order should reach the kitchen. */
const dishes = [
  'tuna-nigiri',
  'salmon-nigiri',
  'ebi-nigiri',
  'spicy-tuna-roll',
  'california-roll',
  'miso-soup',
  'edamame',
];

const customers = ['Aiko Tanaka', 'Kenji Sato', 'Maria García', "Seán O'Brien", 'Zoë Martin', 'Li Wei'];
const streets = ['12 Fulton Street', '350 Fifth Avenue', '1 Wall Street', '77 Water Street'];
const zips = ['10038', '10118', '10005', '10004'];

/** A uniformly random element. */
const pick = (/** @type {any[]} */ list, /** @type {() => number} */ random) =>
  list[Math.floor(random() * list.length)];

/** Random lowercase hex of `bytes` bytes. */
export function randomHex(/** @type {number} */ bytes, random = Math.random) {
  let hex = '';
  for (let i = 0; i < bytes; i++)
    hex += Math.floor(random() * 256)
      .toString(16)
      .padStart(2, '0');
  return hex;
}

/** A W3C traceparent for a new, sampled trace that starts at the load client. */
export function newTraceparent(random = Math.random) {
  return `00-${randomHex(16, random)}-${randomHex(8, random)}-01`;
}

/** The route of the next order, by `routeMix` weight. */
export function pickRoute(/** @type {boolean} */ withDirect, random = Math.random) {
  const mix = routeMix.filter((r) => withDirect || r.route !== 'direct');
  let roll = random() * mix.reduce((sum, r) => sum + r.weight, 0);
  for (const entry of mix) {
    roll -= entry.weight;
    if (roll < 0) return entry.route;
  }
  return mix[0].route;
}

/** A valid order for `route`: its path and JSON body. */
export function makeOrder(/** @type {string} */ route, random = Math.random) {
  const count = 1 + Math.floor(random() * 3);
  const items = [];
  for (const menuItemId of new Set(Array.from({ length: count }, () => pick(dishes, random)))) {
    items.push({ menuItemId, quantity: 1 + Math.floor(random() * 3) });
  }
  if (route === 'direct') return { path: '/orders/direct', body: { items } };
  if (route === 'onsite')
    return {
      path: '/orders/onsite',
      body: { table: 1 + Math.floor(random() * 40), customerName: pick(customers, random), items },
    };
  const i = Math.floor(random() * streets.length);
  return {
    path: '/orders/online',
    body: {
      customerName: pick(customers, random),
      deliveryAddress: { street: streets[i], city: 'New York', zip: zips[i] },
      items,
    },
  };
}

/** The arrival rate (orders/s) `t` seconds into a scenario. */
export function rateAt(/** @type {Scenario} */ scenario, /** @type {number} */ t) {
  let from = scenario.startRate;
  let elapsed = 0;
  for (const stage of scenario.stages) {
    if (t < elapsed + stage.seconds) return from + ((stage.target - from) * (t - elapsed)) / stage.seconds;
    elapsed += stage.seconds;
    from = stage.target;
  }
  return 0;
}

/** A scenario's length in seconds. */
export function durationOf(/** @type {Scenario} */ scenario) {
  return scenario.stages.reduce((sum, s) => sum + s.seconds, 0);
}
