import assert from 'node:assert/strict';
import { once } from 'node:events';
import { it } from 'node:test';
import { spawnService } from '../../../tools/start/spawn-service.ts';
import type { ServiceName } from '../../../tools/start/spawn-service.ts';

// No broker needed: a bad variable must stop the process before it connects to anything.
const cases: Array<[ServiceName, Record<string, string>, RegExp[]]> = [
  [
    'gateway',
    { PORT: 'eighty', KAFKA_BROKERS: 'kafka' },
    [
      /PORT must be a whole number from 0 to 65535 \(got "eighty"\)/,
      /KAFKA_BROKERS must be a comma-separated list of host:port/,
    ],
  ],
  ['validation', { ITUNA_DELAYS: 'address=fast' }, [/ITUNA_DELAYS must be comma-separated stage=ms/]],
  ['kitchen', { ITUNA_KITCHEN_CHEFS: '0' }, [/ITUNA_KITCHEN_CHEFS must be a whole number from 1 to 64/]],
  [
    'validation',
    { ITUNA_KAFKA_SEND: 'eventually' },
    [/ITUNA_KAFKA_SEND must be one of batched, single \(got "eventually"\)/],
  ],
  ['gateway', { ITUNA_KAFKA_LINGER_MS: 'soon' }, [/ITUNA_KAFKA_LINGER_MS must be a whole number from 0 to 1000/]],
  [
    'kitchen',
    { ITUNA_TRUST_INCOMING_TRACE_CONTEXT: 'maybe' },
    [/ITUNA_TRUST_INCOMING_TRACE_CONTEXT must be one of true, false/],
  ],
];

for (const [name, env, messages] of cases) {
  it(`When ${name} starts with ${Object.keys(env).join(' and ')} wrong, then it exits naming ${messages.length > 1 ? 'each' : 'it'}`, async () => {
    const service = spawnService(name, { KAFKA_BROKERS: '127.0.0.1:1', ...env });
    const [code] = await once(service.child, 'exit');
    await service.ready.catch(() => {});
    assert.equal(code, 2);
    const output = service.lines.join('\n');
    for (const message of messages) assert.match(output, message);
    assert.doesNotMatch(output, /\n\s+at /, 'no stack trace');
  });
}

it('When a service starts with an OTEL_* variable wrong, then it warns once naming it, uses the default and goes on', async () => {
  const service = spawnService('kitchen', {
    KAFKA_BROKERS: '127.0.0.1:1',
    OTEL_TRACES_SAMPLER: 'sometimes',
    OTEL_LOG_LEVEL: 'loud',
  });
  try {
    const deadline = Date.now() + 15_000;
    while (service.lines.filter((l) => l.includes('using the default')).length < 2 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    const warnings = service.lines.filter((l) => l.includes('using the default'));
    assert.equal(warnings.filter((l) => l.includes('OTEL_TRACES_SAMPLER must be one of always_on')).length, 1);
    assert.equal(warnings.filter((l) => l.includes('OTEL_LOG_LEVEL must be one of none')).length, 1);
    assert.ok(
      warnings.every((l) => JSON.parse(l).level === 40),
      "warnings, in the services' log format",
    );
    assert.equal(service.child.exitCode, null, 'still running');
  } finally {
    await service.stop();
  }
});
