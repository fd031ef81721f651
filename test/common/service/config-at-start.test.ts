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
  ['kitchen', { OTEL_TRACES_SAMPLER: 'sometimes' }, [/OTEL_TRACES_SAMPLER must be one of always_on, always_off/]],
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
