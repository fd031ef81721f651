import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { makeTraceExports } from '../../../tools/bench/otlp-exports.ts';
import { flattenResourceSpans } from '../../../tools/traces/otlp.ts';
import { openTraceStore } from '../../../tools/tracestore/store.ts';
import { startTraceStoreServer } from '../../../tools/tracestore/server.ts';

let dir: string;
const size = (path: string) =>
  stat(path).then(
    (s) => s.size,
    () => 0,
  );

describe('the trace store keeps its file within a disk budget while it runs', () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ituna-disk-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("When six times the budget is exported, then the file and a compaction's temporary file never pass it, and a restart reloads the newest traces whole", async () => {
    const file = join(dir, 'spans.jsonl');
    const budget = 2 * 1024 * 1024;
    const exports = makeTraceExports(40);
    const store = await openTraceStore({ file, maxDiskBytes: budget, maxSpans: 100_000 });
    const server = await startTraceStoreServer(store, { otlpPort: 0, queryPort: 0 });
    // Disk use is read after every export once written, and every millisecond in between, compactions included.
    let largest = 0;
    const look = async () => (largest = Math.max(largest, (await size(file)) + (await size(`${file}.tmp`))));
    let looking = true;
    const watcher = (async () => {
      for (let i = 0; looking && i < 120_000; i++)
        await Promise.all([look(), new Promise((resolve) => setTimeout(resolve, 1))]);
    })();
    try {
      for (const [i, body] of exports.entries()) {
        const protobuf = i % 2 === 0;
        const response = await fetch(`${server.otlpUrl}/v1/traces`, {
          method: 'POST',
          headers: { 'content-type': protobuf ? 'application/x-protobuf' : 'application/json' },
          body: protobuf ? body.protobuf : body.json,
        });
        assert.equal(response.status, 200);
        await store.flush();
        await look();
      }
    } finally {
      looking = false;
      await watcher;
      await server.close();
    }
    const fed = exports.reduce((sum, e) => sum + e.spans, 0);
    const fedBytes = exports.reduce(
      (sum, e) => sum + JSON.stringify(flattenResourceSpans(JSON.parse(e.json.toString()))).length + 1,
      0,
    );
    assert.equal(store.spanCount, fed, 'memory keeps every span: only the disk is short');
    assert.ok(fedBytes > 6 * budget, `the test fed ${fedBytes} bytes of spans, several budgets`);
    assert.ok(largest <= budget, `disk use reached ${largest} bytes, over the budget of ${budget}`);
    const kept = new Map(
      [
        ...new Set(exports.flatMap((e) => flattenResourceSpans(JSON.parse(e.json.toString())).map((s) => s.traceId))),
      ].map((id) => [id, store.trace(id)]),
    );

    const reopened = await openTraceStore({ file, maxDiskBytes: budget, maxSpans: 100_000 });
    const reloaded = [...kept.keys()].filter((id) => reopened.trace(id).length > 0);
    assert.ok(reopened.spanCount > 0 && reopened.spanCount < fed, `${reopened.spanCount} of ${fed} spans reloaded`);
    assert.ok((await size(file)) <= (budget * 2) / 3);
    // Through JSON, as the file keeps them: a missing parent or status message is left out rather than undefined.
    for (const id of reloaded)
      assert.ok(
        isDeepStrictEqual(reopened.trace(id), JSON.parse(JSON.stringify(kept.get(id)))),
        `trace ${id} reloaded whole`,
      );
    const order = [...kept.keys()];
    assert.deepEqual(reloaded, order.slice(order.length - reloaded.length), 'the newest traces are the ones kept');
    process.stderr.write(
      `# disk budget ${budget} bytes: ${fed} spans (${fedBytes} bytes) fed, largest disk use seen ${largest} bytes, ${reopened.spanCount} spans in ${reloaded.length} traces reloaded\n`,
    );
  });

  it('When the file ends in a line cut short by a crash, then the store opens with the rest and rewrites the file without it', async () => {
    const file = join(dir, 'torn.jsonl');
    const [sample] = makeTraceExports(1, 29);
    const spans = flattenResourceSpans(JSON.parse(sample!.json.toString()));
    await writeFile(file, `${JSON.stringify(spans)}\n${JSON.stringify(spans).slice(0, 100)}`);
    const store = await openTraceStore({ file });
    assert.equal(store.spanCount, 29);
    assert.equal(await readFile(file, 'utf8'), `${JSON.stringify(spans)}\n`);
  });

  it('When ITUNA_TRACESTORE_MAX_DISK_MB is not a size, then the store does not start and names it', async () => {
    const child = spawn(process.execPath, ['tools/tracestore/main.ts'], {
      env: { ...process.env, ITUNA_TRACESTORE_MAX_DISK_MB: '0' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const [code] = await once(child, 'exit');
    assert.equal(code, 2);
    assert.match(stderr, /ITUNA_TRACESTORE_MAX_DISK_MB must be a whole number from 1 to 1048576 \(got "0"\)/);
  });
});
