import assert from 'node:assert/strict';
import { it } from 'node:test';
import { timelineOf } from '../../gateway/timeline.ts';

const t = (ms: number) => new Date(Date.UTC(2026, 0, 1) + ms).toISOString();

it('When an order went through every station, then its timeline alternates waits in Kafka and work', () => {
  const stages = timelineOf({
    orderId: 'o',
    channel: 'online',
    status: 'ready',
    history: [
      { status: 'accepted', at: t(0) },
      { status: 'validated', at: t(130), startedAt: t(10) },
      { status: 'cooking', at: t(900), startedAt: t(140) },
      { status: 'ready', at: t(1300), startedAt: t(905) },
    ],
  });
  assert.deepEqual(
    stages.map((s) => [s.stage, s.kind, s.ms]),
    [
      ['waiting for validation', 'queue', 10],
      ['validation', 'work', 120],
      ['waiting for the kitchen', 'queue', 10],
      ['waiting for a chef', 'queue', 760],
      ['cooking', 'work', 400],
    ],
  );
});

it('When a direct order skipped validation, then its first wait is for the kitchen', () => {
  const stages = timelineOf({
    orderId: 'o',
    channel: 'direct',
    status: 'cooking',
    history: [
      { status: 'accepted', at: t(0) },
      { status: 'cooking', at: t(50), startedAt: t(20) },
    ],
  });
  assert.deepEqual(
    stages.map((s) => [s.stage, s.ms]),
    [
      ['waiting for the kitchen', 20],
      ['waiting for a chef', 30],
    ],
  );
});
