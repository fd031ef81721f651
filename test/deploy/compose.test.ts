import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { it } from 'node:test';
import type { TestContext } from 'node:test';
import { promisify } from 'node:util';
import { parse } from 'yaml';

// There is no Docker engine where this project is developed: the compose file is validated, not run.
const root = new URL('../..', import.meta.url).pathname;

/** A published port as docker-compose prints it: `127.0.0.1:3000:3000/tcp`, or the long form. */
function portOf(port: unknown): { host?: string; published: number } {
  if (typeof port === 'string') {
    const [host, published] = port.split(':');
    return { host, published: Number(published) };
  }
  const long = port as { host_ip?: string; published: number };
  return { host: long.host_ip, published: Number(long.published) };
}

/** The services `docker-compose config` resolves, or undefined (test skipped) where docker-compose is missing. */
async function composeConfig(
  t: TestContext,
  extraArgs: string[] = [],
  env: Record<string, string> = { ITUNA_MANAGEMENT_TOKEN: 'compose-test-token' },
): Promise<Record<string, any> | undefined> {
  try {
    const { stdout } = await promisify(execFile)(
      'docker-compose',
      ['-f', 'docker-compose.yml', ...extraArgs, 'config'],
      { cwd: root, env: { ...process.env, ITUNA_MANAGEMENT_TOKEN: '', ...env } },
    );
    return (parse(stdout) as { services: Record<string, any> }).services;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    if (process.env.CI)
      assert.fail('docker-compose is missing: .ci/run must install it (apt-get install -y docker-compose)');
    t.skip('docker-compose is not installed (apt-get install -y docker-compose)');
    return undefined;
  }
}

it('When docker-compose validates docker-compose.yml, then it declares the whole system with the contract names and ports', async (t) => {
  const services = await composeConfig(t);
  if (!services) return;
  // Debian's docker-compose lists every service whatever the active profiles; kafka-2 and kafka-3 are opt-in.
  assert.deepEqual(Object.keys(services).sort(), [
    'gateway',
    'jaeger',
    'kafka',
    'kafka-2',
    'kafka-3',
    'kitchen',
    'validation',
  ]);
  assert.deepEqual(services['kafka-2'].profiles, ['cluster']);
  assert.deepEqual(services['kafka-3'].profiles, ['cluster']);
  assert.equal(services.kafka.profiles, undefined);
  assert.equal(services.kafka.environment.KAFKA_CONTROLLER_QUORUM_VOTERS, '1@kafka:9093');
  assert.equal(services.kafka.environment.KAFKA_MIN_INSYNC_REPLICAS, '1');

  const published = (name: string) => services[name].ports.map((p: unknown) => portOf(p).published);
  assert.deepEqual(published('jaeger').sort(), [16686, 4318].sort());
  assert.deepEqual(published('gateway'), [3000]);
  // Published to this machine only: the gateway, Jaeger and Kafka's PLAINTEXT listener are not for the network.
  const hosts = Object.values(services).flatMap((s: any) => (s.ports ?? []).map((p: unknown) => portOf(p).host));
  assert.ok(hosts.length > 0 && hosts.every((h) => h === '127.0.0.1'), `published on ${JSON.stringify(hosts)}`);
  assert.match(services.jaeger.image, /^jaegertracing\/jaeger:2\./);
  assert.match(services.jaeger.healthcheck.test.join(' '), /:13133\/status/, "Jaeger's healthcheckv2 endpoint");
  assert.match(services.kafka.image, /^apache\/kafka:4\./);
  assert.equal(services.kafka.environment.KAFKA_PROCESS_ROLES, 'broker,controller');

  const serviceNames = { gateway: 'ituna-gateway', validation: 'ituna-order-validation', kitchen: 'ituna-kitchen' };
  for (const [name, serviceName] of Object.entries(serviceNames)) {
    const service: Record<string, any> = services[name];
    assert.equal(service.environment.OTEL_SERVICE_NAME, serviceName);
    assert.equal(service.environment.KAFKA_BROKERS, 'kafka:9092');
    assert.equal(service.environment.OTEL_EXPORTER_OTLP_ENDPOINT, 'http://jaeger:4318');
    assert.equal(service.depends_on.kafka.condition, 'service_healthy');
    assert.equal(service.depends_on.jaeger.condition, 'service_healthy');
    assert.ok(service.build, `${name} is built from the Dockerfile`);
  }
});

it('When docker-compose reads docker-compose.cluster.env, then three KRaft nodes form one quorum, keep three replicas with two in sync, and the services know all three', async (t) => {
  const services = await composeConfig(t, ['--env-file', 'docker-compose.cluster.env']);
  if (!services) return;
  const nodes = ['kafka', 'kafka-2', 'kafka-3'].map((name) => services[name].environment);
  assert.deepEqual(
    nodes.map((env) => Number(env.KAFKA_NODE_ID)),
    [1, 2, 3],
  );
  for (const env of nodes) {
    assert.equal(env.KAFKA_CONTROLLER_QUORUM_VOTERS, '1@kafka:9093,2@kafka-2:9093,3@kafka-3:9093');
    assert.equal(env.KAFKA_DEFAULT_REPLICATION_FACTOR, '3');
    assert.equal(env.KAFKA_MIN_INSYNC_REPLICAS, '2');
    assert.equal(env.KAFKA_TRANSACTION_STATE_LOG_MIN_ISR, '2');
  }
  assert.deepEqual(
    ['kafka', 'kafka-2', 'kafka-3'].map((name) => portOf(services[name].ports[0]).published),
    [9094, 9095, 9096],
  );
  assert.match(services.kafka.healthcheck.test.join(' '), /-ge 3/);
  for (const name of ['gateway', 'validation', 'kitchen'])
    assert.equal(services[name].environment.KAFKA_BROKERS, 'kafka:9092,kafka-2:9092,kafka-3:9092');
});

it('When docker-compose starts the services, then each has a healthcheck on its probe, waits on what it needs, may stop gracefully, and needs a management token', async (t) => {
  const services = await composeConfig(t);
  if (!services) return;
  for (const name of ['gateway', 'validation', 'kitchen']) {
    const service: any = services[name];
    assert.match(service.healthcheck.test.join(' '), /\/readyz/, `${name} probes /readyz`);
    // Longer than the services' own 10 s shutdown grace.
    assert.ok(
      Number.parseInt(service.stop_grace_period, 10) > 10,
      `${name} stop_grace_period ${service.stop_grace_period}`,
    );
    assert.equal(service.depends_on.kafka.condition, 'service_healthy');
  }
  assert.equal(services.gateway.depends_on.validation.condition, 'service_healthy');
  assert.equal(services.gateway.depends_on.kitchen.condition, 'service_healthy');
  assert.equal(String(services.kitchen.environment.ITUNA_HEALTH_PORT), '8080');
  assert.equal(services.gateway.environment.ITUNA_MANAGEMENT_TOKEN, 'compose-test-token');
  await assert.rejects(
    promisify(execFile)('docker-compose', ['-f', 'docker-compose.yml', 'config'], {
      cwd: root,
      env: { ...process.env, ITUNA_MANAGEMENT_TOKEN: '' },
    }),
    /set ITUNA_MANAGEMENT_TOKEN/,
    'no default token: compose refuses to start without one',
  );
});
