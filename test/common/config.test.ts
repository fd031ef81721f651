import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, flag, httpUrl, integer, loadConfig, oneOf, text } from '../../common/config.ts';
import { kafkaBrokers } from '../../common/kafka/client.ts';
import { telemetryConfigSchema } from '../../common/telemetry/sdk.ts';

const schema = { PORT: integer(3000, 0, 65535), HOST: text('127.0.0.1'), LOG_LEVEL: oneOf(['info', 'debug'], 'info'), DEBUG: flag(false) };

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
    assert.deepEqual(loadConfig({ KAFKA_BROKERS: kafkaBrokers }, { KAFKA_BROKERS: 'a:1, b:2' }).KAFKA_BROKERS, ['a:1', 'b:2']);
    assert.throws(() => loadConfig({ KAFKA_BROKERS: kafkaBrokers }, { KAFKA_BROKERS: 'kafka' }), /KAFKA_BROKERS must be a comma-separated list of host:port/);
  });

  it('When an OTEL_* variable is wrong, then the error names it and the allowed values', () => {
    assert.throws(() => loadConfig(telemetryConfigSchema, { OTEL_TRACES_SAMPLER: 'sometimes' }), /OTEL_TRACES_SAMPLER must be one of always_on, always_off/);
    assert.throws(() => loadConfig(telemetryConfigSchema, { OTEL_TRACES_SAMPLER_ARG: '1.5' }), /OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1/);
    assert.throws(() => loadConfig(telemetryConfigSchema, { OTEL_EXPORTER_OTLP_ENDPOINT: 'localhost:4318' }), /OTEL_EXPORTER_OTLP_ENDPOINT must be an absolute http/);
    assert.throws(() => loadConfig(telemetryConfigSchema, { OTEL_SDK_DISABLED: 'maybe' }), /OTEL_SDK_DISABLED must be one of true, false/);
  });

  it('When a URL has a trailing slash, then it is dropped', () => {
    assert.equal(loadConfig({ U: httpUrl('http://x') }, { U: 'http://collector:4318/' }).U, 'http://collector:4318');
  });
});
