import assert from 'node:assert/strict';
import { it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { diag } from '@opentelemetry/api';
import { loadConfigLeniently } from '../../../common/config.ts';
import { reportDiagnostics, telemetryConfigSchema } from '../../../common/telemetry/sdk.ts';

type Line = { level: number; msg: string; extra?: Record<string, unknown> };
const collect =
  (lines: Line[]) =>
  (_service: string, level: number, msg: string, extra: object = {}) =>
    void lines.push({ level, msg, extra: extra as Record<string, unknown> });

it('When the span queue overflows again and again, then one warning a period says how many spans were dropped, whatever OTEL_LOG_LEVEL', async () => {
  const lines: Line[] = [];
  reportDiagnostics('test-service', 'none', 50, collect(lines));
  diag.warn('Dropped 5 spans because maxQueueSize reached');
  diag.warn('Dropped 7 spans because maxQueueSize reached');
  diag.error('export failed');
  diag.warn('some other warning');
  assert.equal(lines.length, 0, 'nothing said at once, and nothing but drops at level none');
  await sleep(120);
  assert.equal(lines.length, 1);
  assert.equal(lines[0]!.level, 40);
  assert.match(lines[0]!.msg, /spans dropped: the span queue was full \(raise OTEL_BSP_MAX_QUEUE_SIZE/);
  assert.deepEqual(lines[0]!.extra, { droppedSpans: 12, withinMs: 50 });
  diag.disable();
});

it('When OTEL_LOG_LEVEL is warn, then the SDK says its warnings and errors as log lines, and keeps its information to itself', () => {
  const lines: Line[] = [];
  reportDiagnostics('test-service', 'warn', 50, collect(lines));
  diag.error('export failed', 'ECONNREFUSED');
  diag.warn('a warning');
  diag.info('some information');
  diag.debug('detail');
  assert.deepEqual(
    lines.map((l) => [l.level, l.msg]),
    [
      [50, 'export failed'],
      [40, 'a warning'],
    ],
  );
  assert.deepEqual(lines[0]!.extra, { args: ['ECONNREFUSED'] });
  diag.disable();
});

it('When OTEL_* values are malformed, then each is reported once by name and its default used', () => {
  const problems: string[] = [];
  const config = loadConfigLeniently(
    telemetryConfigSchema,
    {
      OTEL_TRACES_SAMPLER: 'sometimes',
      OTEL_LOG_LEVEL: 'loud',
      OTEL_PROPAGATORS: 'tracecontext,b3',
      OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: '-1',
      OTEL_TRACES_EXPORTER: 'console',
    },
    (problem) => problems.push(problem),
  );
  assert.equal(problems.length, 4);
  for (const name of ['OTEL_TRACES_SAMPLER', 'OTEL_LOG_LEVEL', 'OTEL_PROPAGATORS', 'OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT'])
    assert.ok(
      problems.some((p) => p.startsWith(`${name} `) && p.endsWith('using the default')),
      name,
    );
  assert.equal(config.OTEL_TRACES_SAMPLER, 'parentbased_always_on');
  assert.equal(config.OTEL_LOG_LEVEL, 'info');
  assert.deepEqual(config.OTEL_PROPAGATORS, ['tracecontext', 'baggage']);
  assert.equal(config.OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT, undefined);
  assert.equal(config.OTEL_TRACES_EXPORTER, 'console', 'a good value is kept');
  assert.equal(config.OTEL_EXPORTER_OTLP_PROTOCOL, 'http/protobuf', "the specification's default protocol");
});
