import { mkdirSync } from 'node:fs';
import { configOrExit, hostPortList, integer, loadConfig, oneOf, text } from '../../common/config.ts';
import { canConnect } from '../../common/kafka/reachable.ts';
import { TRACE_STORE_CONFIG, traceStoreOptions } from '../tracestore/config.ts';
import { openTraceStore } from '../tracestore/store.ts';
import { monitorKafka } from '../tracestore/monitor-feed.ts';
import { startTraceStoreServer } from '../tracestore/server.ts';
import type { TraceStoreServer } from '../tracestore/server.ts';
import { KAFKA_NODES_MAX, localClusterDataDir, startLocalCluster } from '../local-kafka/cluster.ts';
import type { LocalCluster } from '../local-kafka/cluster.ts';
import { answersAsKafka, listenerOf, takeStartLock } from './ports.ts';
import type { StartLock } from './ports.ts';
import { prettyLine } from './pretty.ts';
import { spawnService } from './spawn-service.ts';
import { describeTraceBackend } from './trace-backend.ts';
import type { ServiceProcess } from './spawn-service.ts';

// `npm start`: the whole pipeline on this machine — a local Kafka broker unless KAFKA_BROKERS names one,
// the embedded trace store unless a trace backend is configured or already listening, then the gateway and
// both workers, stopped together on Ctrl-C or SIGTERM.
const config = configOrExit(() =>
  loadConfig(
    {
      KAFKA_BROKERS: hostPortList(),
      ITUNA_KAFKA_NODES: integer(1, 1, KAFKA_NODES_MAX),
      OTEL_EXPORTER_OTLP_ENDPOINT: text(),
      PORT: integer(3000, 0, 65535),
      LOG_FORMAT: oneOf(['pretty', 'json'], process.stdout.isTTY ? 'pretty' : 'json'),
      ...TRACE_STORE_CONFIG,
    },
    process.env,
  ),
);

const KAFKA_PORT = 9092;
const CONTROLLER_PORT = 9093;
const OTLP_PORT = 4318;
const QUERY_PORT = 16686;
const dataDir = new URL('../../.data', import.meta.url).pathname;

const say = (message: string) => process.stderr.write(`[ituna] ${message}\n`);
const color = process.stdout.isTTY && !process.env.NO_COLOR;
const show =
  config.LOG_FORMAT === 'pretty'
    ? (line: string) => process.stdout.write(`${prettyLine(line, color)}\n`)
    : (line: string) => process.stdout.write(`${line}\n`);
let lock: StartLock | undefined;
let broker: LocalCluster | undefined;
let traceStore: TraceStoreServer | undefined;
const services: ServiceProcess[] = [];
let stopped: Promise<void> | undefined;

/** Stops the services, then the broker and the trace store; every later call waits for the same stop. */
function stopAll(): Promise<void> {
  stopped ??= (async () => {
    lock?.stopping();
    if (services.length > 0 || broker || traceStore) say('stopping…');
    await Promise.all(services.map((service) => service.stop()));
    await broker?.stop();
    await traceStore?.close();
    lock?.release();
  })();
  return stopped;
}
// A second signal (npm forwards the one the process group already got, or Ctrl-C twice) waits for the same stop:
// this process returns only once the broker and every service have exited.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => void stopAll().then(() => process.exit(0)));
}
// The services have their own process group; they must not outlive this one however it ends.
process.on('exit', () => {
  for (const service of services) if (service.child.exitCode === null) service.child.kill('SIGKILL');
});

/** Refuses a port that something else holds, naming it. */
async function requireFree(port: number, what: string, remedy: string): Promise<void> {
  if (!(await canConnect('127.0.0.1', port))) return;
  throw new Error(`port ${port} (${what}) is taken by ${listenerOf(port) ?? 'another process'}; ${remedy}`);
}

try {
  mkdirSync(dataDir, { recursive: true });
  lock = await takeStartLock(`${dataDir}/npm-start.lock`, say);

  // Every port is checked before anything starts, so a refusal leaves nothing half-started.
  if (config.PORT !== 0) await requireFree(config.PORT, 'the gateway', 'stop it, or set PORT');
  let brokers = config.KAFKA_BROKERS?.join(',');
  let ownBroker = false;
  if (!brokers) {
    brokers = `127.0.0.1:${KAFKA_PORT}`;
    if (await canConnect('127.0.0.1', KAFKA_PORT)) {
      const holder = listenerOf(KAFKA_PORT) ?? 'another process';
      if (!(await answersAsKafka(brokers)))
        throw new Error(
          `port ${KAFKA_PORT} (Kafka) is taken by ${holder}, which does not answer as Kafka; stop it, or set KAFKA_BROKERS`,
        );
      say(
        `Kafka already answers on ${brokers} (${holder}, not started by npm start): using it, and leaving it running at the end`,
      );
    } else {
      // Node i of a local cluster listens on KAFKA_PORT + 2i, its controller on CONTROLLER_PORT + 2i.
      for (let i = 0; i < config.ITUNA_KAFKA_NODES; i++) {
        if (i > 0)
          await requireFree(
            KAFKA_PORT + 2 * i,
            `Kafka node ${i + 1}`,
            'stop it, or set KAFKA_BROKERS to use a running Kafka',
          );
        await requireFree(
          CONTROLLER_PORT + 2 * i,
          `the controller of Kafka node ${i + 1}`,
          'stop it, or set KAFKA_BROKERS to use a running Kafka',
        );
      }
      ownBroker = true;
    }
  }
  let traceBackend = false;
  if (!config.OTEL_EXPORTER_OTLP_ENDPOINT) {
    // Something already on the OTLP port is taken for the trace backend; a line below says what it answered.
    if (!(await canConnect('127.0.0.1', OTLP_PORT))) {
      await requireFree(
        QUERY_PORT,
        "the trace store's query API",
        'stop it, or set OTEL_EXPORTER_OTLP_ENDPOINT to a trace backend',
      );
      traceBackend = true;
    }
  }

  if (ownBroker) {
    const started = performance.now();
    const nodes = config.ITUNA_KAFKA_NODES;
    say(
      `starting the local Kafka ${nodes === 1 ? 'broker' : `cluster of ${nodes} nodes`} (the first start downloads it from Maven Central)…`,
    );
    broker = await startLocalCluster({
      nodes,
      port: KAFKA_PORT,
      controllerPort: CONTROLLER_PORT,
      dataDir: localClusterDataDir(nodes),
      log: say,
      ownProcessGroup: true,
    });
    brokers = broker.brokers;
    say(`Kafka ready on ${brokers} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  if (traceBackend) {
    const store = await openTraceStore(traceStoreOptions(config));
    traceStore = await startTraceStoreServer(store, {
      kafka: configOrExit(() => monitorKafka(brokers!.split(','), process.env)),
    });
    say(
      `no trace backend configured: the embedded trace store takes OTLP on ${traceStore.otlpUrl} (${store.spanCount} spans kept)`,
    );
  } else if (!config.OTEL_EXPORTER_OTLP_ENDPOINT) {
    say(await describeTraceBackend(`http://127.0.0.1:${OTLP_PORT}`, `http://127.0.0.1:${QUERY_PORT}`));
  }
  const env = { KAFKA_BROKERS: brokers };
  const start = (name: 'validation' | 'kitchen' | 'gateway') => {
    const service = spawnService(name, env, { onLine: show, ownProcessGroup: true });
    services.push(service);
    service.child.on('exit', (code, signal) => {
      if (!stopped) {
        say(`${name} exited unexpectedly (${code ?? signal}); stopping the pipeline`);
        void stopAll().then(() => process.exit(1));
      }
    });
    return service.ready;
  };
  // The first process creates the topics; starting the others after it keeps them from racing to do the same.
  await start('validation');
  const [gatewayUrl] = await Promise.all([start('gateway'), start('kitchen')]);
  say(`ready: gateway ${gatewayUrl}, Swagger UI ${gatewayUrl}/docs — Ctrl-C stops everything`);
  if (traceStore) say(`traces: ${traceStore.queryUrl} (Jaeger api/v3 at ${traceStore.queryUrl}/api/v3/…)`);
  say(
    `try: curl -si -X POST ${gatewayUrl}/orders/online -H 'content-type: application/json' -d '{"customerName":"Aiko Tanaka","deliveryAddress":{"street":"12 Fulton Street","city":"New York","zip":"10038"},"items":[{"menuItemId":"tuna-nigiri","quantity":2}]}'`,
  );
} catch (error) {
  say((error as Error).message);
  await stopAll();
  process.exit(1);
}
