import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, flag, httpUrl, integer, loadConfig, oneOf, text } from '../../common/config.ts';
import { kafkaBrokers, kafkaSecurity, kafkaSecuritySchema, replicationFor } from '../../common/kafka/client.ts';
import { historyWindowVariable } from '../../common/topics/index.ts';
import { telemetryConfigSchema } from '../../common/telemetry/sdk.ts';

const schema = {
  PORT: integer(3000, 0, 65535),
  HOST: text('127.0.0.1'),
  LOG_LEVEL: oneOf(['info', 'debug'], 'info'),
  DEBUG: flag(false),
};

describe('loadConfig', () => {
  it('When nothing is set, then every variable takes its default', () => {
    assert.deepEqual(loadConfig(schema, {}), { PORT: 3000, HOST: '127.0.0.1', LOG_LEVEL: 'info', DEBUG: false });
  });

  it('When values are set, then they are converted', () => {
    assert.deepEqual(loadConfig(schema, { PORT: '8080', HOST: '0.0.0.0', LOG_LEVEL: 'DEBUG', DEBUG: 'true' }), {
      PORT: 8080,
      HOST: '0.0.0.0',
      LOG_LEVEL: 'debug',
      DEBUG: true,
    });
  });

  it('When several values are bad, then one error names each variable and what it allows', () => {
    const error = (() => {
      try {
        loadConfig(schema, { PORT: '80x', LOG_LEVEL: 'loud', DEBUG: 'yes' });
      } catch (e) {
        return e;
      }
    })();
    assert.ok(error instanceof ConfigError);
    assert.equal(error.problems.length, 3);
    assert.match(error.problems[0]!, /^PORT must be a whole number from 0 to 65535 \(got "80x"\)$/);
    assert.match(error.problems[1]!, /^LOG_LEVEL must be one of info, debug/);
    assert.match(error.problems[2]!, /^DEBUG must be one of true, false/);
  });

  it('When a port is out of range, then it is refused', () => {
    assert.throws(() => loadConfig(schema, { PORT: '70000' }), /PORT must be a whole number from 0 to 65535/);
  });

  it('When KAFKA_BROKERS is unset, then the local broker is used; when malformed, it is refused', () => {
    assert.deepEqual(loadConfig({ KAFKA_BROKERS: kafkaBrokers }, {}).KAFKA_BROKERS, ['127.0.0.1:9092']);
    assert.deepEqual(loadConfig({ KAFKA_BROKERS: kafkaBrokers }, { KAFKA_BROKERS: 'a:1, b:2' }).KAFKA_BROKERS, [
      'a:1',
      'b:2',
    ]);
    assert.throws(
      () => loadConfig({ KAFKA_BROKERS: kafkaBrokers }, { KAFKA_BROKERS: 'kafka' }),
      /KAFKA_BROKERS must be a comma-separated list of host:port/,
    );
  });

  it('When an OTEL_* variable is wrong, then the error names it and the allowed values', () => {
    assert.throws(
      () => loadConfig(telemetryConfigSchema, { OTEL_TRACES_SAMPLER: 'sometimes' }),
      /OTEL_TRACES_SAMPLER must be one of always_on, always_off/,
    );
    assert.throws(
      () => loadConfig(telemetryConfigSchema, { OTEL_TRACES_SAMPLER_ARG: '1.5' }),
      /OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1/,
    );
    assert.throws(
      () => loadConfig(telemetryConfigSchema, { OTEL_EXPORTER_OTLP_ENDPOINT: 'localhost:4318' }),
      /OTEL_EXPORTER_OTLP_ENDPOINT must be an absolute http/,
    );
    assert.throws(
      () => loadConfig(telemetryConfigSchema, { OTEL_SDK_DISABLED: 'maybe' }),
      /OTEL_SDK_DISABLED must be one of true, false/,
    );
  });

  it('When the OTLP protocol is chosen, then protobuf is the default (as the specification says), JSON may be asked for, gRPC is refused by name', () => {
    const protocols = (env: Record<string, string>) => {
      const config = loadConfig(telemetryConfigSchema, env);
      return [config.OTEL_EXPORTER_OTLP_PROTOCOL, config.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL];
    };
    assert.deepEqual(protocols({}), ['http/protobuf', undefined]);
    assert.deepEqual(protocols({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }), ['http/json', undefined]);
    assert.deepEqual(
      protocols({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'HTTP/Protobuf' }),
      ['http/json', 'http/protobuf'],
    );
    assert.throws(
      () => loadConfig(telemetryConfigSchema, { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }),
      /OTEL_EXPORTER_OTLP_PROTOCOL must be one of http\/protobuf, http\/json/,
    );
    assert.throws(
      () => loadConfig(telemetryConfigSchema, { OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'json' }),
      /OTEL_EXPORTER_OTLP_TRACES_PROTOCOL must be one of/,
    );
  });

  it('When a URL has a trailing slash, then it is dropped', () => {
    assert.equal(loadConfig({ U: httpUrl('http://x') }, { U: 'http://collector:4318/' }).U, 'http://collector:4318');
  });
});

describe('Kafka security and cluster settings', () => {
  const security = (env: Record<string, string>) => kafkaSecurity(loadConfig(kafkaSecuritySchema, env));

  it('When no security variable is set, then the client connects in plain text without credentials', () => {
    assert.deepEqual(security({}), {});
  });

  it('When TLS and SCRAM are set, then kafkajs gets ssl and sasl options', () => {
    assert.deepEqual(
      security({
        KAFKA_SSL: 'true',
        KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
        KAFKA_SASL_USERNAME: 'kitchen',
        KAFKA_SASL_PASSWORD: 's3cret',
      }),
      {
        ssl: true,
        sasl: { mechanism: 'scram-sha-512', username: 'kitchen', password: 's3cret' },
      },
    );
  });

  it('When a SASL mechanism lacks its credentials or the CA file is missing, then one error names each variable', () => {
    assert.throws(
      () => security({ KAFKA_SASL_MECHANISM: 'plain', KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: '/nonexistent/ca.pem' }),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.problems.some((p) => /^KAFKA_SSL_CA_FILE cannot be read \(ENOENT\)$/.test(p)) &&
        error.problems.includes('KAFKA_SASL_USERNAME is required with KAFKA_SASL_MECHANISM=plain') &&
        error.problems.includes('KAFKA_SASL_PASSWORD is required with KAFKA_SASL_MECHANISM=plain'),
    );
    assert.throws(
      () => loadConfig(kafkaSecuritySchema, { KAFKA_SASL_MECHANISM: 'gssapi' }),
      /KAFKA_SASL_MECHANISM must be one of none, plain, scram-sha-256, scram-sha-512/,
    );
  });

  it('When a history window is given, then it is read as a duration and a bad one is refused', () => {
    assert.equal(loadConfig({ ITUNA_HISTORY_WINDOW: historyWindowVariable }, {}).ITUNA_HISTORY_WINDOW, 86_400_000);
    assert.equal(
      loadConfig({ ITUNA_HISTORY_WINDOW: historyWindowVariable }, { ITUNA_HISTORY_WINDOW: '90m' }).ITUNA_HISTORY_WINDOW,
      5_400_000,
    );
    assert.throws(
      () => loadConfig({ ITUNA_HISTORY_WINDOW: historyWindowVariable }, { ITUNA_HISTORY_WINDOW: '1 hour' }),
      /ITUNA_HISTORY_WINDOW must be a duration like 90s/,
    );
  });

  it('When topics are created, then one and two brokers keep every copy they can with one in sync, three or more keep three with two', () => {
    assert.deepEqual([1, 2, 3, 5].map(replicationFor), [
      { replicationFactor: 1, minInSyncReplicas: 1 },
      { replicationFactor: 2, minInSyncReplicas: 1 },
      { replicationFactor: 3, minInSyncReplicas: 2 },
      { replicationFactor: 3, minInSyncReplicas: 2 },
    ]);
  });
});
