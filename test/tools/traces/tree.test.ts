import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { FlatSpan } from '../../../tools/traces/otlp.ts';
import { formatTraceTree } from '../../../tools/traces/tree.ts';

const span = (
  spanId: string,
  name: string,
  startMs: number,
  parentSpanId?: string,
  kind: FlatSpan['kind'] = 'internal',
): FlatSpan => ({
  traceId: 't',
  spanId,
  parentSpanId,
  name,
  kind,
  service: 'ituna-kitchen',
  startMs,
  endMs: startMs + 10,
  durationMs: 10,
  attributes: {},
  events: [],
  links: [],
  status: { code: 'unset' },
});

it('When a trace is drawn as text, then children follow their parent in start order, and a span whose parent is missing starts a tree of its own', () => {
  const text = formatTraceTree([
    span('b', 'prepare miso-soup', 20, 'a'),
    span('a', 'cook order', 0, undefined, 'consumer'),
    span('c', 'prepare tuna-nigiri', 5, 'a'),
    span('d', 'late orphan', 50, 'gone'),
  ]);
  assert.equal(
    text,
    [
      'cook order  [ituna-kitchen] CONSUMER 10.0 ms',
      '├─ prepare tuna-nigiri  [ituna-kitchen] 10.0 ms',
      '└─ prepare miso-soup  [ituna-kitchen] 10.0 ms',
      'late orphan  [ituna-kitchen] 10.0 ms',
    ].join('\n'),
  );
});
