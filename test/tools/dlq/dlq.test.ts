import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { it } from 'node:test';
import { promisify } from 'node:util';
import { kafkaAccessFrom } from '../../../tools/dlq/main.ts';

const root = new URL('../../../', import.meta.url).pathname;

it('When the TLS and SASL variables are set, then the dead-letter tool reaches Kafka with them', () => {
  const access = kafkaAccessFrom({
    KAFKA_BROKERS: 'kafka-1.example:9093,kafka-2.example:9093',
    KAFKA_SSL: 'true',
    KAFKA_SASL_MECHANISM: 'scram-sha-512',
    KAFKA_SASL_USERNAME: 'ituna',
    KAFKA_SASL_PASSWORD: 'secret',
  });
  assert.deepEqual(access.brokers, ['kafka-1.example:9093', 'kafka-2.example:9093']);
  assert.equal(access.security?.ssl, true);
  assert.deepEqual(access.security?.sasl, { mechanism: 'scram-sha-512', username: 'ituna', password: 'secret' });
});

it('When a SASL setting is incomplete, then npm run dlq stops at once naming the variable, as the services do', async () => {
  const run = promisify(execFile)(process.execPath, ['tools/dlq/main.ts', 'list', 'orders.placed'], {
    cwd: root,
    env: { ...process.env, KAFKA_BROKERS: '127.0.0.1:1', KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_PASSWORD: 'x' },
    timeout: 20_000,
  });
  const failure = await run.then(
    () => assert.fail('the tool ran with an incomplete SASL setting'),
    (error: { code?: number; stderr?: string }) => error,
  );
  assert.equal(failure.code, 2);
  assert.match(failure.stderr ?? '', /KAFKA_SASL_USERNAME is required with KAFKA_SASL_MECHANISM=plain/);
});
