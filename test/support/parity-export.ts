import { randomBytes } from 'node:crypto';

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const str = (value: string) => ({ stringValue: value });
const int = (value: number) => ({ intValue: String(value) });
const attrs = (values: Record<string, unknown>) => Object.entries(values).map(([key, value]) => ({ key, value }));

/** One parity export: its OTLP body, its three trace ids, span ids by name, and its first and last instants in unix nanoseconds. */
export interface ParityExport {
  body: { resourceSpans: unknown[] };
  order: string;
  direct: string;
  other: string;
  /** Span ids by a short name, for the questions that name one span. */
  spans: Record<string, string>;
  firstNanos: bigint;
  lastNanos: bigint;
}

/**
 * One hand-written OTLP/HTTP JSON export that exercises every field the api/v3 answers carry: three services, parents,
 * every span kind (unspecified included), attributes of every OTLP type, events with attributes, links, an error
 * status with a message, and timestamps whose nanoseconds are not zero. It starts `ageSeconds` ago, with fresh ids.
 */
export function parityExport(ageSeconds = 30): ParityExport {
  const order = hex(16);
  const direct = hex(16);
  const other = hex(16);
  const base = BigInt(Date.now() - ageSeconds * 1000) * 1_000_000n + 123_457n;
  const at = (ms: number, extraNanos = 0) => (base + BigInt(ms) * 1_000_000n + BigInt(extraNanos)).toString();
  const ids = Object.fromEntries(
    [
      'http',
      'menu',
      'send',
      'process',
      'validate',
      'legacy',
      'sendStatus',
      'processStatus',
      'ticket',
      'cook',
      'direct',
      'other',
      'dish',
      'missing',
    ].map((name) => [name, hex(8)]),
  );
  const span = (
    traceId: string,
    id: string,
    parent: string | undefined,
    name: string,
    kind: number,
    start: number,
    end: number,
    extra: object = {},
  ) => ({
    traceId,
    spanId: ids[id],
    ...(parent ? { parentSpanId: ids[parent] } : {}),
    name,
    kind,
    startTimeUnixNano: at(start, 1),
    endTimeUnixNano: at(end, 999),
    ...extra,
  });
  const resource = (service: string) => ({
    attributes: attrs({
      'service.name': str(service),
      'service.instance.id': str(hex(4)),
      'telemetry.sdk.language': str('nodejs'),
    }),
  });

  const gateway = {
    resource: resource('ituna-gateway'),
    scopeSpans: [
      {
        scope: { name: '@opentelemetry/instrumentation-http', version: '0.301.0' },
        spans: [
          span(order, 'http', undefined, 'POST /orders/online', 2, 0, 42, {
            attributes: attrs({
              'http.request.method': str('POST'),
              'http.response.status_code': int(202),
              'ituna.order.id': str('o-parity'),
              'ituna.run.id': str('run-parity'),
              'ituna.order.total': { doubleValue: 12.75 },
              'ituna.order.express': { boolValue: true },
              'ituna.order.items': { arrayValue: { values: [str('tuna-nigiri'), str('miso-soup')] } },
              'ituna.order.quantities': { arrayValue: { values: [int(2), int(1)] } },
              'ituna.order.prices': { arrayValue: { values: [{ doubleValue: 4.5 }, { doubleValue: 3.75 }] } },
              'ituna.order.flags': { arrayValue: { values: [{ boolValue: true }, { boolValue: false }] } },
              'ituna.order.weight': { doubleValue: 2 },
              'ituna.order.sequence': { intValue: '9007199254740993' },
              'ituna.order.digest': { bytesValue: 'q83vEjRWeJA=' },
              'ituna.order.customer': {
                kvlistValue: {
                  values: [
                    { key: 'tier', value: str('gold') },
                    { key: 'visits', value: int(12) },
                  ],
                },
              },
              'ituna.order.notes': { arrayValue: {} },
              'peer.ipv4': int(2130706433),
              'telemetry.sdk.name': str('opentelemetry'),
            }),
            status: { code: 1 },
          }),
          span(order, 'menu', 'http', 'GET /menu', 3, 2, 6, {
            attributes: attrs({ 'ituna.run.id': str('run-parity'), 'server.port': int(3000) }),
          }),
          span(order, 'send', 'http', 'send orders.placed', 4, 30, 35, {
            attributes: attrs({
              'messaging.system': str('kafka'),
              'messaging.destination.name': str('orders.placed'),
              'ituna.run.id': str('run-parity'),
            }),
          }),
        ],
      },
    ],
  };
  const validation = {
    resource: resource('ituna-order-validation'),
    scopeSpans: [
      {
        scope: { name: 'ituna-worker' },
        spans: [
          // Starts after its parent ended, as every Kafka consumer span does.
          span(order, 'process', 'send', 'process orders.placed', 5, 120, 380, {
            attributes: attrs({
              'ituna.queue.wait_ms': int(85),
              'messaging.kafka.offset': int(41),
              'ituna.run.id': str('run-parity'),
            }),
            links: [{ traceId: other, spanId: ids.other, attributes: attrs({ 'link.reason': str('same customer') }) }],
          }),
        ],
      },
      {
        scope: { name: 'ituna' },
        spans: [
          span(order, 'validate', 'process', 'validate order', 1, 125, 370, {
            attributes: attrs({ 'ituna.validation.result': str('rejected'), 'ituna.run.id': str('run-parity') }),
            status: { code: 2, message: 'otoro-nigiri is out of stock' },
            events: [
              {
                name: 'exception',
                timeUnixNano: at(369, 7),
                attributes: attrs({
                  'exception.type': str('OutOfStock'),
                  'exception.message': str('otoro-nigiri is out of stock'),
                  'ituna.retry': int(0),
                }),
              },
              { name: 'checks started', timeUnixNano: at(126, 3), attributes: attrs({ 'ituna.checks': int(3) }) },
            ],
          }),
          span(order, 'legacy', 'validate', 'validate inventory', 0, 130, 360, {
            attributes: attrs({ 'ituna.inventory.items': int(2) }),
          }),
          span(order, 'sendStatus', 'validate', 'send orders.status', 4, 365, 367, {
            attributes: attrs({ 'messaging.destination.name': str('orders.status') }),
            links: [{ traceId: '0'.repeat(32), spanId: '0'.repeat(16) }],
          }),
        ],
      },
    ],
  };
  const statusReader = {
    resource: { attributes: attrs({ 'service.name': str('ituna-gateway'), 'host.name': str('gateway-1') }) },
    scopeSpans: [
      {
        scope: { name: 'ituna-follower' },
        spans: [span(order, 'processStatus', 'sendStatus', 'process orders.status', 5, 400, 401)],
      },
    ],
  };
  const kitchen = {
    resource: resource('ituna-kitchen'),
    scopeSpans: [
      {
        scope: { name: 'ituna' },
        spans: [
          span(direct, 'ticket', 'direct', 'process kitchen.tickets', 5, 1000, 1900, {
            attributes: attrs({ 'ituna.order.channel': str('direct'), 'ituna.run.id': str('run-direct') }),
          }),
          span(direct, 'cook', 'ticket', 'cook order', 1, 1010, 1850, {
            attributes: attrs({ 'ituna.kitchen.chefs.busy': int(2), 'ituna.run.id': str('run-direct') }),
          }),
          // Its parent is a client's span that never reached the store.
          {
            ...span(other, 'other', undefined, 'cook order', 1, 2000, 2150, {
              attributes: attrs({ 'ituna.kitchen.chefs.busy': int(1), 'ituna.run.id': str('run-other') }),
            }),
            parentSpanId: ids.missing,
          },
          span(other, 'dish', 'other', 'prepare dish', 1, 2010, 2100, {
            attributes: attrs({ 'ituna.run.id': str('run-other') }),
          }),
        ],
      },
    ],
  };
  const directGateway = {
    resource: resource('ituna-gateway'),
    scopeSpans: [
      {
        scope: { name: '@opentelemetry/instrumentation-http', version: '0.301.0' },
        spans: [
          span(direct, 'direct', undefined, 'POST /orders/direct', 2, 990, 1002, {
            attributes: attrs({ 'ituna.run.id': str('run-direct'), 'http.response.status_code': int(202) }),
          }),
        ],
      },
    ],
  };
  // The direct order's root arrives in its own resource, after the kitchen's spans, as a separate export would.
  return {
    body: { resourceSpans: [gateway, validation, statusReader, kitchen, directGateway] },
    order,
    direct,
    other,
    spans: ids,
    firstNanos: base,
    lastNanos: base + 2150n * 1_000_000n + 999n,
  };
}
