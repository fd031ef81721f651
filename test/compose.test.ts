import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { it } from 'node:test';
import { promisify } from 'node:util';
import { parse } from 'yaml';

// There is no Docker engine where this project is developed: the compose file is validated, not run.
it('When docker-compose validates docker-compose.yml, then it declares the whole system with the contract names and ports', async (t) => {
  const root = new URL('..', import.meta.url).pathname;
  let stdout: string;
  try {
    ({ stdout } = await promisify(execFile)('docker-compose', ['-f', 'docker-compose.yml', 'config'], { cwd: root }));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    if (process.env.CI) assert.fail('docker-compose is missing: .ci/run must install it (apt-get install -y docker-compose)');
    t.skip('docker-compose is not installed (apt-get install -y docker-compose)');
    return;
  }
  const { services } = parse(stdout) as { services: Record<string, any> };
  assert.deepEqual(Object.keys(services).sort(), ['gateway', 'jaeger', 'kafka', 'kitchen', 'validation']);

  const published = (name: string) => services[name].ports.map((p: { published: number }) => Number(p.published));
  assert.deepEqual(published('jaeger').sort(), [16686, 4318].sort());
  assert.deepEqual(published('gateway'), [3000]);
  assert.match(services.jaeger.image, /^jaegertracing\/jaeger:2\./);
  assert.match(services.jaeger.healthcheck.test.join(' '), /:13133\/status/, "Jaeger's healthcheckv2 endpoint");
  assert.match(services.kafka.image, /^apache\/kafka:4\./);
  assert.equal(services.kafka.environment.KAFKA_PROCESS_ROLES, 'broker,controller');

  const serviceNames = { gateway: 'ituna-gateway', validation: 'ituna-order-validation', kitchen: 'ituna-kitchen' };
  for (const [name, serviceName] of Object.entries(serviceNames)) {
    const service = services[name];
    assert.equal(service.environment.OTEL_SERVICE_NAME, serviceName);
    assert.equal(service.environment.KAFKA_BROKERS, 'kafka:9092');
    assert.equal(service.environment.OTEL_EXPORTER_OTLP_ENDPOINT, 'http://jaeger:4318');
    assert.equal(service.depends_on.kafka.condition, 'service_healthy');
    assert.equal(service.depends_on.jaeger.condition, 'service_healthy');
    assert.ok(service.build, `${name} is built from the Dockerfile`);
  }
});
