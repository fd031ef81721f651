import assert from 'node:assert/strict';
import { it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { diag } from '@opentelemetry/api';
import { reportDroppedSpans } from '../../../common/telemetry/sdk.ts';

it('When the span queue overflows again and again, then one warning a period says how many spans were dropped', async () => {
  const lines: Array<{ level: number; msg: string; extra?: Record<string, unknown> }> = [];
  reportDroppedSpans('test-service', 50, (_service, level, msg, extra) => {
    lines.push({ level, msg, extra: extra as Record<string, unknown> });
  });
  diag.warn('Dropped 5 spans because maxQueueSize reached');
  diag.warn('Dropped 7 spans because maxQueueSize reached');
  diag.error('export failed');
  diag.warn('some other warning');
  assert.equal(lines.length, 0, 'nothing said at once, and nothing but drops');
  await sleep(120);
  assert.equal(lines.length, 1);
  assert.equal(lines[0]!.level, 40);
  assert.match(lines[0]!.msg, /spans dropped: the span queue was full \(raise OTEL_BSP_MAX_QUEUE_SIZE/);
  assert.deepEqual(lines[0]!.extra, { droppedSpans: 12, withinMs: 50 });
  diag.disable();
});
