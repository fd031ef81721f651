import assert from 'node:assert/strict';
import { it } from 'node:test';
import { ownerOf, selfTime, summarizeProfile } from '../../../tools/bench/cpu-profile.ts';
import type { CpuProfile } from '../../../tools/bench/cpu-profile.ts';

const root = '/srv/ituna';
const frame = (id: number, functionName: string, url: string) => ({
  id,
  callFrame: { functionName, url, lineNumber: 9 },
});

it('When a frame is placed, then it belongs to its npm package (scoped too), Node, the project folder or V8', () => {
  assert.equal(ownerOf(`file://${root}/node_modules/kafkajs/src/producer/index.js`, 'send', root), 'kafkajs');
  assert.equal(
    ownerOf(`file://${root}/node_modules/@opentelemetry/sdk-trace/dist/Span.mjs`, 'end', root),
    '@opentelemetry/sdk-trace',
  );
  assert.equal(
    ownerOf(`file://${root}/node_modules/a/node_modules/@fastify/otel/index.js`, 'x', root),
    '@fastify/otel',
  );
  assert.equal(ownerOf('node:internal/streams/writable', 'write', root), 'node: internals');
  assert.equal(ownerOf(`file://${root}/gateway/routes/orders.ts`, 'acceptOrder', root), 'project: gateway/');
  assert.equal(ownerOf('', '(garbage collector)', root), '(garbage collector)');
  assert.equal(ownerOf('', 'writev', root), '(native)');
});

it('When a profile is summarised, then each sample’s time goes to the frame on top and the shares add up to the whole', () => {
  const profile: CpuProfile = {
    nodes: [
      frame(1, '(root)', ''),
      frame(2, '(idle)', ''),
      frame(3, 'send', `file://${root}/node_modules/kafkajs/src/a.js`),
      frame(4, 'acceptOrder', `file://${root}/gateway/routes/orders.ts`),
    ],
    samples: [2, 3, 3, 4, 3, 2],
    timeDeltas: [1000, 2000, 2000, 1000, 2000, 2000],
  };
  const summary = summarizeProfile(profile, root);
  assert.equal(summary.totalMs, 10);
  assert.equal(summary.busyMs, 7);
  assert.deepEqual(
    summary.byOwner.map((s) => [s.name, s.ms, s.percent]),
    [
      ['kafkajs', 6, 60],
      ['(idle)', 3, 30],
      ['project: gateway/', 1, 10],
    ],
  );
  assert.deepEqual(summary.byFunction[0], { name: 'send kafkajs/src/a.js:10', ms: 6, percent: 60 });
  assert.equal(summary.byFunction[2]!.name, 'acceptOrder gateway/routes/orders.ts:10');
});

it('When a window of the profile is asked for, then only the samples taken within it count', () => {
  const profile: CpuProfile = {
    nodes: [
      frame(1, '(root)', ''),
      frame(2, '(idle)', ''),
      frame(3, 'send', `file://${root}/node_modules/kafkajs/src/a.js`),
    ],
    samples: [3, 3, 2, 3],
    timeDeltas: [100, 100, 100, 100],
    startTime: 1000,
  };
  // Samples at 1100, 1200, 1300 and 1400 µs.
  const { owners, totalUs } = selfTime(profile, root, { fromUs: 1150, toUs: 1350 });
  assert.equal(totalUs, 200);
  assert.deepEqual(
    [...owners],
    [
      ['kafkajs', 100],
      ['(idle)', 100],
    ],
  );
});
