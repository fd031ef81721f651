import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { makeTraceExports } from '../../../tools/bench/otlp-exports.ts';
import { MAX_EXPORT_BYTES } from '../../../tools/tracestore/intake.ts';
import { openTraceStore } from '../../../tools/tracestore/store.ts';
import { startTraceStoreServer } from '../../../tools/tracestore/server.ts';

const RUNS = 800;
const TIME_LIMIT_MS = 90_000;

interface Post {
  what: string;
  body: Uint8Array;
  contentType: string;
  contentEncoding?: string;
}

const [sample] = makeTraceExports(1, 32);
const validJson = JSON.parse(sample!.json.toString()) as unknown;

/** Every path into a JSON value, as key lists, so a mutation can pick any field at any depth. */
function paths(value: unknown, prefix: Array<string | number> = [], found: Array<Array<string | number>> = []) {
  found.push(prefix);
  if (value && typeof value === 'object')
    for (const [key, child] of Object.entries(value))
      paths(child, [...prefix, Array.isArray(value) ? Number(key) : key], found);
  return found;
}
const validJsonPaths = paths(validJson).slice(1);

/** The valid export with the value at one path replaced (or removed, for `undefined`). */
function mutateJson(path: Array<string | number>, replacement: unknown): unknown {
  const copy = structuredClone(validJson) as Record<string | number, unknown>;
  let parent = copy;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
  const last = path.at(-1)!;
  if (replacement === undefined) {
    if (Array.isArray(parent)) parent.splice(Number(last), 1);
    else delete parent[last];
  } else parent[last] = replacement;
  return copy;
}

/** The valid protobuf export with bytes flipped, cut, inserted or repeated. */
function mutateProtobuf(kind: number, at: number, bytes: Uint8Array): Uint8Array {
  const valid = sample!.protobuf;
  const i = at % valid.length;
  if (kind === 0) return Buffer.concat([valid.subarray(0, i), bytes, valid.subarray(i + bytes.length)]);
  if (kind === 1) return valid.subarray(0, i);
  if (kind === 2) return Buffer.concat([valid.subarray(0, i), bytes, valid.subarray(i)]);
  return Buffer.concat([valid.subarray(0, i), valid.subarray(i / 2, i), valid.subarray(i)]);
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value) ?? 'null');
const PROTOBUF = 'application/x-protobuf';
const JSON_TYPE = 'application/json';

const exportsArbitrary: fc.Arbitrary<Post> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .record({ body: fc.uint8Array({ maxLength: 2048 }), contentType: fc.constantFrom(PROTOBUF, JSON_TYPE) })
      .map((p) => ({ what: 'random bytes', ...p })),
  },
  {
    weight: 3,
    arbitrary: fc
      .jsonValue({ maxDepth: 4 })
      .map((v) => ({ what: 'random JSON', body: json(v), contentType: JSON_TYPE })),
  },
  {
    weight: 2,
    arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => ({
      what: 'random JSON under resourceSpans',
      body: json({ resourceSpans: [v] }),
      contentType: JSON_TYPE,
    })),
  },
  {
    weight: 6,
    arbitrary: fc
      .record({
        path: fc.constantFrom(...validJsonPaths),
        replacement: fc.option(fc.jsonValue({ maxDepth: 2 }), { nil: undefined }),
      })
      .map(({ path, replacement }) => ({
        what: 'mutated JSON export',
        body: json(mutateJson(path, replacement)),
        contentType: JSON_TYPE,
      })),
  },
  {
    weight: 6,
    arbitrary: fc
      .record({
        kind: fc.integer({ min: 0, max: 3 }),
        at: fc.nat(),
        bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }),
      })
      .map(({ kind, at, bytes }) => ({
        what: 'mutated protobuf export',
        body: mutateProtobuf(kind, at, bytes),
        contentType: PROTOBUF,
      })),
  },
  {
    weight: 1,
    arbitrary: fc.constant({ what: 'valid protobuf export', body: sample!.protobuf, contentType: PROTOBUF }),
  },
  { weight: 1, arbitrary: fc.constant({ what: 'valid JSON export', body: sample!.json, contentType: JSON_TYPE }) },
  {
    weight: 2,
    arbitrary: fc
      .record({
        contentType: fc.oneof(
          fc.constantFrom(
            'text/plain',
            'application/grpc',
            'application/xml',
            '',
            'application/x-protobuf; charset=utf-8',
            'APPLICATION/JSON',
          ),
          fc.string({ maxLength: 30 }),
        ),
        valid: fc.boolean(),
      })
      .map(({ contentType, valid }) => ({
        what: 'some content type',
        body: valid ? sample!.json : sample!.protobuf,
        contentType,
      })),
  },
);

/** A post from `exportsArbitrary`, sent plain, gzipped, or with a content coding that does not match its body. */
const postArbitrary: fc.Arbitrary<Post> = fc
  .record({
    post: exportsArbitrary,
    coding: fc.constantFrom('none', 'none', 'gzip', 'gzip', 'lie gzip', 'identity', 'br', 'deflate', 'x-unknown'),
  })
  .map(({ post, coding }) => {
    if (coding === 'none') return post;
    if (coding === 'gzip')
      return { ...post, what: `gzipped ${post.what}`, body: gzipSync(post.body), contentEncoding: 'gzip' };
    if (coding === 'lie gzip') return { ...post, what: `${post.what} labelled gzip`, contentEncoding: 'gzip' };
    return { ...post, what: `${post.what} as ${coding}`, contentEncoding: coding };
  });

// Rare and large: over the limit on the wire, and a gzip bomb.
const tooLarge = Buffer.alloc(MAX_EXPORT_BYTES + 1024, 0x7b);
const bomb = Buffer.concat(Array.from({ length: 32 }, () => gzipSync(Buffer.alloc(1024 * 1024), { level: 9 })));
const largeArbitrary: fc.Arbitrary<Post> = fc.constantFrom(
  { what: 'over the limit', body: tooLarge, contentType: JSON_TYPE },
  { what: 'gzip bomb', body: bomb, contentType: PROTOBUF, contentEncoding: 'gzip' },
);

test('When the OTLP endpoint is sent random, mutated and mislabelled exports, then it answers 200, 400, 413 or 415, stays up, and a refused export changes nothing', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ituna-fuzz-'));
  const file = join(dir, 'spans.jsonl');
  const store = await openTraceStore({ file, maxDiskBytes: 4 * 1024 * 1024 });
  const server = await startTraceStoreServer(store, { otlpPort: 0, queryPort: 0 });
  const statuses = new Map<string, number>();
  let runs = 0;
  try {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof({ weight: 60, arbitrary: postArbitrary }, { weight: 1, arbitrary: largeArbitrary }),
        async (post) => {
          runs++;
          await store.flush();
          const before = {
            spans: store.spanCount,
            received: store.received,
            disk: store.diskBytes,
            file: await stat(file).then(
              (s) => s.size,
              () => 0,
            ),
          };
          const headers: Record<string, string> = { 'content-type': post.contentType };
          if (post.contentEncoding) headers['content-encoding'] = post.contentEncoding;
          const response = await fetch(`${server.otlpUrl}/v1/traces`, { method: 'POST', headers, body: post.body });
          await response.arrayBuffer();
          statuses.set(`${response.status}`, (statuses.get(`${response.status}`) ?? 0) + 1);
          assert.ok([200, 400, 413, 415].includes(response.status), `${post.what}: answered ${response.status}`);
          if (response.status !== 200) {
            await store.flush();
            const afterwards = {
              spans: store.spanCount,
              received: store.received,
              disk: store.diskBytes,
              file: await stat(file).then(
                (s) => s.size,
                () => 0,
              ),
            };
            assert.deepEqual(afterwards, before, `${post.what}: refused with ${response.status} but the store changed`);
          }
        },
      ),
      { numRuns: RUNS, interruptAfterTimeLimit: TIME_LIMIT_MS, markInterruptAsFailure: false },
    );
    assert.equal((await fetch(`${server.queryUrl}/api/v3/services`)).status, 200, 'the query side still answers');
    const valid = await fetch(`${server.otlpUrl}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': PROTOBUF },
      body: sample!.protobuf,
    });
    assert.equal(valid.status, 200, 'a valid export is still taken');
    assert.ok(runs >= 100, `only ${runs} exports were sent within ${TIME_LIMIT_MS} ms`);
    t.diagnostic(
      `${runs} exports fuzzed; answers ${[...statuses]
        .sort()
        .map(([s, n]) => `${s}×${n}`)
        .join(', ')}`,
    );
  } finally {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
});
