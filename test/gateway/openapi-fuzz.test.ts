import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, it } from 'node:test';
import fc from 'fast-check';
import { buildTestGateway } from '../support/gateway.ts';
import type { TestGateway } from '../support/gateway.ts';

// Requests generated from the committed OpenAPI spec — its example bodies, mutated, and arbitrary JSON — sent to a
// real server over HTTP. Whatever arrives, the answer is JSON and never a 5xx.
const TOKEN = 'fuzz-token';
const SEED = 20261124;
const RUNS = 1200;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
interface Operation {
  method: string;
  path: string;
  example?: Json;
}

let gateway: TestGateway;
let base: string;
let operations: Operation[];

before(async () => {
  const spec = JSON.parse(await readFile(new URL('../../openapi/openapi.json', import.meta.url), 'utf8'));
  operations = Object.entries(spec.paths as Record<string, Record<string, any>>).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({
      method: method.toUpperCase(),
      path,
      example: operation.requestBody?.content?.['application/json']?.example,
    })),
  );
  // HTTP behaviour only: the gateway records what it would publish, no broker needed.
  gateway = await buildTestGateway({ managementToken: TOKEN });
  base = await gateway.app.listen({ port: 0, host: '127.0.0.1' });
});
after(() => gateway?.close());

/** Every path into a JSON value, so a mutation can land anywhere in it. */
function pathsOf(value: Json, prefix: Array<string | number> = []): Array<Array<string | number>> {
  if (value === null || typeof value !== 'object') return [prefix];
  const entries: Array<[string | number, Json]> = Array.isArray(value)
    ? value.map((v, i) => [i, v])
    : Object.entries(value);
  return [prefix, ...entries.flatMap(([key, child]) => pathsOf(child, [...prefix, key]))];
}

function mutate(
  example: Json,
  path: Array<string | number>,
  how: 'replace' | 'delete' | 'add',
  value: Json,
  key: string,
): Json {
  const copy = structuredClone(example);
  if (path.length === 0) return how === 'replace' ? value : copy;
  let parent: any = copy;
  for (const step of path.slice(0, -1)) parent = parent[step];
  const last = path.at(-1)!;
  if (how === 'replace') parent[last] = value;
  else if (how === 'delete') Array.isArray(parent) ? parent.splice(Number(last), 1) : delete parent[last];
  else if (parent[last] && typeof parent[last] === 'object' && !Array.isArray(parent[last])) parent[last][key] = value;
  return copy;
}

const nasty = fc.oneof(
  fc.jsonValue() as fc.Arbitrary<Json>,
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.constantFrom<Json>(
    '',
    '\u0000',
    '\u001b[2J',
    'A'.repeat(5000),
    -1,
    0,
    1e308,
    -0,
    2 ** 53 + 1,
    1.5,
    true,
    null,
    [],
    {},
  ),
);

it(`When ${RUNS} generated requests hit the API, then none is answered with a 5xx or a non-JSON body, and the server stays up`, async (t) => {
  const statuses = new Map<number, number>();
  const request = fc.record({
    operation: fc.constantFrom(...operations),
    kind: fc.constantFrom('mutated', 'arbitrary', 'raw'),
    pathIndex: fc.nat(),
    how: fc.constantFrom('replace', 'delete', 'add') as fc.Arbitrary<'replace' | 'delete' | 'add'>,
    value: nasty,
    key: fc.string({ maxLength: 20 }),
    raw: fc.string({ unit: 'binary', maxLength: 300 }),
    id: fc.oneof(fc.uuid(), fc.string({ unit: 'binary', maxLength: 80 })),
    contentType: fc.constantFrom(
      'application/json',
      'application/json; charset=utf-8',
      'text/plain',
      'application/x-www-form-urlencoded',
      '',
    ),
    authorized: fc.boolean(),
    traceparent: fc.option(fc.string({ maxLength: 120 }), { nil: undefined }),
  });

  await fc.assert(
    fc.asyncProperty(request, async (r) => {
      const { method, path, example } = r.operation;
      const url = base + path.replace('{id}', encodeURIComponent(r.id));
      const headers: Record<string, string> = {};
      if (r.authorized) headers.authorization = `Bearer ${TOKEN}`;
      if (r.traceparent !== undefined) headers.traceparent = r.traceparent.replace(/[^\x20-\x7e]/g, '');
      let body: string | undefined;
      if (method !== 'GET') {
        if (r.contentType) headers['content-type'] = r.contentType;
        if (r.kind === 'raw' || example === undefined) body = r.raw;
        else if (r.kind === 'arbitrary') body = JSON.stringify(r.value);
        else {
          const paths = pathsOf(example);
          body = JSON.stringify(mutate(example, paths[r.pathIndex % paths.length]!, r.how, r.value, r.key));
        }
      }
      const response = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(10_000) });
      const text = await response.text();
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      assert.ok(response.status < 500, `${method} ${path} answered ${response.status}: ${text.slice(0, 300)}`);
      if (!path.startsWith('/docs')) assert.doesNotThrow(() => JSON.parse(text), `not JSON: ${text.slice(0, 200)}`);
    }),
    { seed: SEED, numRuns: RUNS, endOnFailure: true },
  );

  const sent = [...statuses.values()].reduce((a, b) => a + b, 0);
  assert.ok(sent >= 1000, `only ${sent} requests sent`);
  assert.equal((await fetch(`${base}/healthz`)).status, 200);
  t.diagnostic(
    `seed ${SEED}: ${sent} requests, by status ${JSON.stringify(Object.fromEntries([...statuses].sort()))}, 5xx 0`,
  );
});
