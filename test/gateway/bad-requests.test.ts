import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { onlineOrder, onsiteOrder } from '../support/fixtures.ts';
import { buildTestGateway } from '../support/gateway.ts';
import type { TestGateway } from '../support/gateway.ts';

// Hostile and broken requests, each answered with a clear 4xx JSON error — never a 5xx, never a stack trace.
const TOKEN = 'bad-requests-token';
const online = onlineOrder;
const onsite = onsiteOrder;
const { deliveryAddress: address, items } = online;
const json = { 'content-type': 'application/json' };

interface Row {
  name: string;
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';
  url?: string;
  headers?: Record<string, string>;
  payload?: unknown;
  status: number;
  code?: string;
  /** A field the error must name (in details or message). */
  field?: string;
}

const big = (n: number) => 'x'.repeat(n);
const rows: Row[] = [
  // Bodies that are not an order at all
  {
    name: 'a body over 64 KiB',
    payload: { ...online, customerName: big(70_000) },
    status: 413,
    code: 'payload_too_large',
  },
  { name: 'truncated JSON', payload: '{"customerName":"Aiko"', status: 400, code: 'invalid_request' },
  { name: 'JSON with a trailing comma', payload: '{"customerName":"Aiko",}', status: 400, code: 'invalid_request' },
  { name: 'single-quoted JSON', payload: "{'customerName':'Aiko'}", status: 400, code: 'invalid_request' },
  { name: 'an empty body', payload: '', status: 400, code: 'invalid_request' },
  { name: 'JSON null', payload: 'null', status: 400, code: 'invalid_request' },
  { name: 'a JSON array', payload: '[]', status: 400, code: 'invalid_request' },
  { name: 'a JSON string', payload: '"order"', status: 400, code: 'invalid_request' },
  { name: 'a JSON number', payload: '42', status: 400, code: 'invalid_request' },
  {
    name: 'a __proto__ key',
    payload: '{"__proto__":{"admin":true},"customerName":"Aiko"}',
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'Content-Type text/plain',
    headers: { 'content-type': 'text/plain' },
    payload: JSON.stringify(online),
    status: 415,
    code: 'unsupported_media_type',
  },
  {
    name: 'Content-Type application/xml',
    headers: { 'content-type': 'application/xml' },
    payload: '<order/>',
    status: 415,
    code: 'unsupported_media_type',
  },
  {
    name: 'Content-Type form-urlencoded',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: 'customerName=Aiko',
    status: 415,
    code: 'unsupported_media_type',
  },
  {
    name: 'no Content-Type',
    headers: {},
    payload: JSON.stringify(online),
    status: 415,
    code: 'unsupported_media_type',
  },
  // Missing and unknown fields
  { name: 'no customerName', payload: { deliveryAddress: address, items }, status: 400, field: 'customerName' },
  { name: 'no deliveryAddress', payload: { customerName: 'Aiko', items }, status: 400, field: 'deliveryAddress' },
  { name: 'no items', payload: { customerName: 'Aiko', deliveryAddress: address }, status: 400, field: 'items' },
  {
    name: 'no zip',
    payload: { ...online, deliveryAddress: { street: '1 A St', city: 'NYC' } },
    status: 400,
    field: 'deliveryAddress.zip',
  },
  { name: 'an unknown top-level field', payload: { ...online, discount: 100 }, status: 400, field: 'discount' },
  {
    name: 'an unknown address field',
    payload: { ...online, deliveryAddress: { ...address, floor: 3 } },
    status: 400,
    field: 'deliveryAddress.floor',
  },
  {
    name: 'an unknown item field',
    payload: { ...online, items: [{ ...items[0], price: 0 }] },
    status: 400,
    field: 'items[0].price',
  },
  {
    name: 'a traceparent field in the body',
    payload: { ...online, traceparent: '00-x' },
    status: 400,
    field: 'traceparent',
  },
  // Wrong types
  { name: 'customerName as a number', payload: { ...online, customerName: 42 }, status: 400, field: 'customerName' },
  {
    name: 'customerName as an object',
    payload: { ...online, customerName: { first: 'Aiko' } },
    status: 400,
    field: 'customerName',
  },
  {
    name: 'deliveryAddress as a string',
    payload: { ...online, deliveryAddress: '12 Fulton Street' },
    status: 400,
    field: 'deliveryAddress',
  },
  {
    name: 'items as an object',
    payload: { ...online, items: { menuItemId: 'tuna-nigiri', quantity: 1 } },
    status: 400,
    field: 'items',
  },
  { name: 'an item as a string', payload: { ...online, items: ['tuna-nigiri'] }, status: 400, field: 'items[0]' },
  {
    name: 'quantity as a string',
    payload: { ...online, items: [{ menuItemId: 'tuna-nigiri', quantity: '2' }] },
    status: 400,
    field: 'items[0].quantity',
  },
  {
    name: 'quantity as a boolean',
    payload: { ...online, items: [{ menuItemId: 'tuna-nigiri', quantity: true }] },
    status: 400,
    field: 'items[0].quantity',
  },
  {
    name: 'quantity null',
    payload: { ...online, items: [{ menuItemId: 'tuna-nigiri', quantity: null }] },
    status: 400,
    field: 'items[0].quantity',
  },
  {
    name: 'zip as a number',
    payload: { ...online, deliveryAddress: { ...address, zip: 10038 } },
    status: 400,
    field: 'deliveryAddress.zip',
  },
  // Out of range
  { name: 'an empty item list', payload: { ...online, items: [] }, status: 400, field: 'items' },
  {
    name: '21 items',
    payload: { ...online, items: Array.from({ length: 21 }, () => items[0]) },
    status: 400,
    field: 'items',
  },
  {
    name: 'a quantity of zero',
    payload: { ...online, items: [{ menuItemId: 'tuna-nigiri', quantity: 0 }] },
    status: 400,
    field: 'items[0].quantity',
  },
  {
    name: 'a negative quantity',
    payload: { ...online, items: [{ menuItemId: 'tuna-nigiri', quantity: -3 }] },
    status: 400,
    field: 'items[0].quantity',
  },
  {
    name: 'a fractional quantity',
    payload: { ...online, items: [{ menuItemId: 'tuna-nigiri', quantity: 1.5 }] },
    status: 400,
    field: 'items[0].quantity',
  },
  {
    name: 'a huge quantity',
    payload: { ...online, items: [{ menuItemId: 'tuna-nigiri', quantity: 1e12 }] },
    status: 400,
    field: 'items[0].quantity',
  },
  {
    name: 'an empty menuItemId',
    payload: { ...online, items: [{ menuItemId: '', quantity: 1 }] },
    status: 400,
    field: 'items[0].menuItemId',
  },
  {
    name: 'a menuItemId with a slash',
    payload: { ...online, items: [{ menuItemId: '../etc/passwd', quantity: 1 }] },
    status: 400,
    field: 'items[0].menuItemId',
  },
  {
    name: 'a menuItemId in capitals',
    payload: { ...online, items: [{ menuItemId: 'TUNA', quantity: 1 }] },
    status: 400,
    field: 'items[0].menuItemId',
  },
  {
    name: 'a 41-character menuItemId',
    payload: { ...online, items: [{ menuItemId: 'a'.repeat(41), quantity: 1 }] },
    status: 400,
    field: 'items[0].menuItemId',
  },
  { name: 'an empty customerName', payload: { ...online, customerName: '' }, status: 400, field: 'customerName' },
  {
    name: 'an 81-character customerName',
    payload: { ...online, customerName: big(81) },
    status: 400,
    field: 'customerName',
  },
  {
    name: 'a 121-character street',
    payload: { ...online, deliveryAddress: { ...address, street: big(121) } },
    status: 400,
    field: 'deliveryAddress.street',
  },
  {
    name: 'a NUL in the name',
    payload: { ...online, customerName: 'Aiko\u0000Tanaka' },
    status: 400,
    field: 'customerName',
  },
  {
    name: 'an ANSI escape in the city',
    payload: { ...online, deliveryAddress: { ...address, city: '\u001b[31mNYC' } },
    status: 400,
    field: 'deliveryAddress.city',
  },
  {
    name: 'a DEL in the zip',
    payload: { ...online, deliveryAddress: { ...address, zip: '100\u007f38' } },
    status: 400,
    field: 'deliveryAddress.zip',
  },
  {
    name: 'a newline in the street',
    payload: { ...online, deliveryAddress: { ...address, street: '12 Fulton\nStreet' } },
    status: 400,
    field: 'deliveryAddress.street',
  },
  { name: 'table 0', url: '/orders/onsite', payload: { ...onsite, table: 0 }, status: 400, field: 'table' },
  { name: 'table 41', url: '/orders/onsite', payload: { ...onsite, table: 41 }, status: 400, field: 'table' },
  {
    name: 'a fractional table',
    url: '/orders/onsite',
    payload: { ...onsite, table: 2.5 },
    status: 400,
    field: 'table',
  },
  {
    name: 'an on-site order with an address',
    url: '/orders/onsite',
    payload: { ...onsite, deliveryAddress: address },
    status: 400,
    field: 'deliveryAddress',
  },
  // Routes, methods and ids
  {
    name: 'GET on an order route (the route, not an order id)',
    method: 'GET',
    url: '/orders/online',
    status: 405,
    code: 'method_not_allowed',
  },
  {
    name: 'DELETE on an order route',
    method: 'DELETE',
    url: '/orders/online',
    status: 405,
    code: 'method_not_allowed',
  },
  { name: 'an unknown route', method: 'GET', url: '/orders/online/../../admin', status: 404, code: 'not_found' },
  { name: 'an order id that is not a uuid', method: 'GET', url: '/orders/12345', status: 400, field: 'id' },
  {
    name: 'an order id with SQL in it',
    method: 'GET',
    url: `/orders/${encodeURIComponent("1' OR '1'='1")}`,
    status: 400,
    field: 'id',
  },
  { name: 'a very long order id', method: 'GET', url: `/orders/${big(2000)}`, status: 414, code: 'invalid_request' },
  {
    name: 'a malformed percent-encoding in the path',
    method: 'GET',
    url: '/orders/%E0%A4%A',
    status: 400,
    code: 'invalid_request',
  },
  // Management routes
  {
    name: 'a direct order without a token',
    url: '/orders/direct',
    payload: { items },
    status: 401,
    code: 'unauthorized',
  },
  {
    name: 'a direct order with Basic auth',
    url: '/orders/direct',
    headers: { ...json, authorization: 'Basic YWRtaW46YWRtaW4=' },
    payload: { items },
    status: 401,
    code: 'unauthorized',
  },
  {
    name: 'a direct order with an empty bearer',
    url: '/orders/direct',
    headers: { ...json, authorization: 'Bearer ' },
    payload: { items },
    status: 401,
    code: 'unauthorized',
  },
  {
    name: 'a direct order with a wrong token',
    url: '/orders/direct',
    headers: { ...json, authorization: 'Bearer guess' },
    payload: { items },
    status: 403,
    code: 'forbidden',
  },
  {
    name: 'a direct order with the token plus a suffix',
    url: '/orders/direct',
    headers: { ...json, authorization: `Bearer ${TOKEN}x` },
    payload: { items },
    status: 403,
    code: 'forbidden',
  },
  {
    name: 'settings without a token',
    method: 'PUT',
    url: '/admin/settings',
    payload: { kitchenChefs: 4 },
    status: 401,
    code: 'unauthorized',
  },
  {
    name: 'settings with nothing to change',
    method: 'PUT',
    url: '/admin/settings',
    headers: { ...json, authorization: `Bearer ${TOKEN}` },
    payload: {},
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'settings with 0 chefs',
    method: 'PUT',
    url: '/admin/settings',
    headers: { ...json, authorization: `Bearer ${TOKEN}` },
    payload: { kitchenChefs: 0 },
    status: 400,
    field: 'kitchenChefs',
  },
  {
    name: 'settings with a bad delay',
    method: 'PUT',
    url: '/admin/settings',
    headers: { ...json, authorization: `Bearer ${TOKEN}` },
    payload: { delays: 'cook=-5' },
    status: 400,
    code: 'invalid_request',
    field: 'delays',
  },
];

let gateway: TestGateway;
let app: FastifyInstance;

describe('hostile and broken requests', () => {
  before(async () => {
    // HTTP behaviour only: the gateway records what it would publish, no broker needed.
    gateway = await buildTestGateway({ managementToken: TOKEN });
    app = gateway.app;
  });
  after(() => gateway?.close());

  let serverErrors = 0;
  for (const row of rows) {
    it(`When a request has ${row.name}, then it answers ${row.status}${row.field ? ` naming ${row.field}` : ''}`, async () => {
      const response = await app.inject({
        method: row.method ?? 'POST',
        url: row.url ?? '/orders/online',
        headers: row.headers ?? (row.payload === undefined ? {} : json),
        payload:
          row.payload === undefined
            ? undefined
            : typeof row.payload === 'string'
              ? row.payload
              : JSON.stringify(row.payload),
      });
      if (response.statusCode >= 500) serverErrors++;
      assert.equal(response.statusCode, row.status, response.body.slice(0, 300));
      assert.match(String(response.headers['content-type']), /^application\/json/);
      const { error } = response.json();
      assert.equal(typeof error.code, 'string');
      assert.equal(typeof error.message, 'string');
      if (row.code) assert.equal(error.code, row.code);
      if (row.field) {
        const named =
          (error.details ?? []).some((d: { field: string }) => d.field === row.field) ||
          error.message.includes(row.field);
        assert.ok(named, `${row.field} not named in ${JSON.stringify(error)}`);
      }
      assert.doesNotMatch(response.body, /\n\s+at |Error:/, 'no stack trace');
    });
  }

  it(`When all ${rows.length} bad requests have been sent, then none got a 5xx and the server still takes a good order`, async (t) => {
    assert.ok(rows.length >= 50);
    assert.equal(serverErrors, 0);
    const good = await app.inject({
      method: 'POST',
      url: '/orders/online',
      headers: json,
      payload: JSON.stringify(online),
    });
    assert.equal(good.statusCode, 202);
    t.diagnostic(`${rows.length} distinct bad requests, ${serverErrors} answered with a 5xx`);
  });

  for (const [name, headers] of [
    ['a garbled traceparent', { traceparent: 'garbage' }],
    ['a traceparent with an all-zero trace id', { traceparent: `00-${'0'.repeat(32)}-${'1'.repeat(16)}-01` }],
    ['an oversized traceparent', { traceparent: `00-${'a'.repeat(4000)}` }],
    ['a garbled baggage', { baggage: ';;;===,,,%%%' }],
    ['an oversized baggage', { baggage: Array.from({ length: 400 }, (_, i) => `k${i}=${'v'.repeat(20)}`).join(',') }],
  ] as const) {
    it(`When a valid order comes with ${name}, then it is accepted`, async () => {
      const response = await app.inject({
        method: 'POST',
        url: '/orders/online',
        headers: { ...json, ...headers },
        payload: JSON.stringify(online),
      });
      assert.equal(response.statusCode, 202, response.body);
    });
  }
});
