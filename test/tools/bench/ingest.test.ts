import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { test } from 'node:test';
import { measureIngest, spread } from '../../../tools/bench/ingest.ts';

/** Child processes of this one still running bench/store-server.ts. */
async function storesLeft(): Promise<string[]> {
  const found: string[] = [];
  for (const pid of (await readdir('/proc')).filter((name) => /^\d+$/.test(name))) {
    const [cmdline, stat] = await Promise.all([
      readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => ''),
      readFile(`/proc/${pid}/stat`, 'utf8').catch(() => ''),
    ]);
    if (cmdline.includes('tools/bench/store-server.ts') && stat.split(') ')[1]?.split(' ')[1] === String(process.pid))
      found.push(pid);
  }
  return found;
}

test('When the ingest benchmark runs two small rounds, then it gives spans/s and CPU for protobuf and JSON and leaves no store running', async () => {
  const figures = await measureIngest(2, 4);
  for (const encoding of ['protobuf', 'json'] as const) {
    assert.equal(figures[encoding].spansPerSecond.length, 2);
    assert.ok(
      figures[encoding].spansPerSecond.every((n) => n > 0 && Number.isFinite(n)),
      `${encoding}: ${figures[encoding].spansPerSecond}`,
    );
    assert.ok(figures[encoding].cpuMsPer1000Spans.every((n) => n >= 0 && Number.isFinite(n)));
  }
  assert.match(spread(figures.protobuf.spansPerSecond), /^[\d ]+ \([\d ]+–[\d ]+\)$/);
  assert.deepEqual(await storesLeft(), []);
});
