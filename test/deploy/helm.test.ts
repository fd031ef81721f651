import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { before, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { SHUTDOWN_GRACE_MS } from '../../common/service/process.ts';
import { kitchenTickets, ordersPlaced } from '../../common/topics/index.ts';
import { buildHelm, chartDir, checkChart, renderChart } from '../../tools/helm/build.ts';
import type { HelmTools } from '../../tools/helm/build.ts';
import { serviceCommand } from '../../tools/start/spawn-service.ts';
import type { ServiceName } from '../../tools/start/spawn-service.ts';

// The chart cannot be installed here (no cluster): it is linted, rendered and checked against Kubernetes' API types.
let tools: HelmTools;
before(async () => {
  tools = await buildHelm();
});

interface Container {
  command: string[];
  env: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  livenessProbe: { httpGet: { path: string; port: string } };
  readinessProbe: { httpGet: { path: string; port: string } };
  ports: { name: string; containerPort: number }[];
  resources: { requests: { memory: string }; limits: { memory: string } };
}
interface Manifest {
  kind: string;
  metadata: { name: string };
  spec: {
    replicas?: number;
    maxReplicaCount?: number;
    triggers?: { metadata: Record<string, string> }[];
    template: { spec: { terminationGracePeriodSeconds: number; containers: Container[] } };
  };
}
const render = (args: string[] = []) =>
  parseAllDocuments(renderChart(tools, args))
    .map((doc) => doc.toJS() as Manifest | null)
    .filter((m): m is Manifest => m !== null);
const deployment = (manifests: Manifest[], name: ServiceName) =>
  manifests.find((m) => m.kind === 'Deployment' && m.metadata.name === `ituna-${name}`)!;
const envOf = (container: Container) => new Map(container.env.map((e) => [e.name, e]));

it('When CI checks the chart, then helm lint --strict passes and every rendered object is valid Kubernetes, with the default values and with TLS, SASL and KEDA', () => {
  const lines = checkChart(tools);
  console.log(lines.join('\n'));
  assert.equal(lines.length, 2);
  assert.match(lines[0]!, /5 objects valid/);
  assert.match(lines[1]!, /8 objects valid.*ScaledObject ituna-validation.*ScaledObject ituna-kitchen/);
});

it('When the chart is rendered, then each service runs like the npm scripts, probes /healthz and /readyz, outlasts its shutdown grace and has memory limits', () => {
  const manifests = render();
  for (const name of ['gateway', 'validation', 'kitchen'] as ServiceName[]) {
    const pod = deployment(manifests, name).spec.template.spec;
    const [container] = pod.containers;
    assert.deepEqual(container!.command, ['node', ...serviceCommand(name)], name);
    assert.equal(container!.livenessProbe.httpGet.path, '/healthz');
    assert.equal(container!.readinessProbe.httpGet.path, '/readyz');
    const probed = container!.ports.find((p) => p.name === container!.readinessProbe.httpGet.port)!;
    const env = envOf(container!);
    // The port probed is the one the service listens on: PORT for the gateway, ITUNA_HEALTH_PORT for a worker.
    assert.equal(env.get(name === 'gateway' ? 'PORT' : 'ITUNA_HEALTH_PORT')?.value, String(probed.containerPort));
    assert.equal(env.get('HOST')?.value, '0.0.0.0');
    assert.ok(pod.terminationGracePeriodSeconds * 1000 > SHUTDOWN_GRACE_MS);
    assert.ok(container!.resources.limits.memory && container!.resources.requests.memory);
  }
  // The gateway scales on CPU (the HPA owns its replicas); the workers keep theirs while KEDA is off.
  assert.equal(deployment(manifests, 'gateway').spec.replicas, undefined);
  assert.ok(manifests.some((m) => m.kind === 'HorizontalPodAutoscaler'));
  assert.equal(deployment(manifests, 'kitchen').spec.replicas, 2);
  assert.ok(!manifests.some((m) => m.kind === 'ScaledObject'));
});

it('When Kafka needs TLS and SASL, then the credentials and the CA come from Secrets, and KEDA scales each worker up to its partitions on its group lag', async () => {
  const manifests = render(['-f', `${chartDir}/ci/tls-sasl-values.yaml`]);
  const env = envOf(deployment(manifests, 'kitchen').spec.template.spec.containers[0]!);
  assert.equal(env.get('KAFKA_SSL')?.value, 'true');
  assert.equal(env.get('KAFKA_SSL_CA_FILE')?.value, '/etc/ituna/kafka-ca/ca.crt');
  assert.equal(env.get('KAFKA_SASL_MECHANISM')?.value, 'scram-sha-512');
  assert.deepEqual(env.get('KAFKA_SASL_PASSWORD')?.valueFrom?.secretKeyRef, {
    name: 'kafka-credentials',
    key: 'password',
  });
  const gatewayEnv = envOf(deployment(manifests, 'gateway').spec.template.spec.containers[0]!);
  assert.deepEqual(gatewayEnv.get('ITUNA_MANAGEMENT_TOKEN')?.valueFrom?.secretKeyRef, {
    name: 'ituna-management',
    key: 'token',
  });
  const scaled = manifests.filter((m) => m.kind === 'ScaledObject');
  assert.deepEqual(
    scaled.map((m) => [
      m.spec.triggers![0]!.metadata.consumerGroup,
      m.spec.triggers![0]!.metadata.topic,
      m.spec.maxReplicaCount,
    ]),
    [
      ['ituna-order-validation', ordersPlaced.name, ordersPlaced.partitions],
      ['ituna-kitchen', kitchenTickets.name, kitchenTickets.partitions],
    ],
  );
  assert.equal(deployment(manifests, 'kitchen').spec.replicas, undefined, 'KEDA owns the replica count');
  assert.equal(scaled[0]!.spec.triggers![0]!.metadata.sasl, 'scram_sha512');
  // No secret is ever a value: every password, token and certificate is a reference.
  const values = await readFile(`${chartDir}/values.yaml`, 'utf8');
  assert.doesNotMatch(values, /^\s*(password|token|username):/m);
});

it('When a value is wrong, then helm refuses to render and names it, and kube-check refuses an object Kubernetes would', () => {
  assert.throws(() => render(['--set', 'kafka.sasl.mechanism=plain']), /kafka\.sasl\.existingSecret is required/);
  const manifests = renderChart(tools);
  const misspelt = manifests.replace('readinessProbe:', 'readynessProbe:');
  const checked = spawnSync(tools.kubeCheck, [], { input: misspelt, encoding: 'utf8' });
  assert.equal(checked.status, 1);
  assert.match(checked.stderr, /Deployment ituna-gateway: .*unknown field "readynessProbe"/);
  const badQuantity = spawnSync(tools.kubeCheck, [], {
    input: manifests.replace('memory: 320Mi', 'memory: 320 MB'),
    encoding: 'utf8',
  });
  assert.equal(badQuantity.status, 1);
  assert.match(badQuantity.stderr, /quantities must match/);
});
