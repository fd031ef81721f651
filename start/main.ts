import { configOrExit, hostPortList, loadConfig, text } from '../common/config.ts';
import { canConnect } from '../common/net.ts';
import { TRACE_STORE_CONFIG, traceStoreOptions } from '../tracestore/config.ts';
import { openTraceStore } from '../tracestore/store.ts';
import { startTraceStoreServer } from '../tracestore/server.ts';
import type { TraceStoreServer } from '../tracestore/server.ts';
import { startLocalBroker } from '../kafka/local-broker.ts';
import type { LocalBroker } from '../kafka/local-broker.ts';
import { startService } from './services.ts';
import type { ServiceProcess } from './services.ts';

// `npm start`: the whole pipeline on this machine — a local Kafka broker unless KAFKA_BROKERS names one,
// the embedded trace store unless a trace backend is configured or already listening, then the gateway and
// both workers, stopped together on Ctrl-C.
const config = configOrExit(() => loadConfig({ KAFKA_BROKERS: hostPortList(), OTEL_EXPORTER_OTLP_ENDPOINT: text(), ...TRACE_STORE_CONFIG }, process.env));

const say = (message: string) => process.stderr.write(`[ituna] ${message}\n`);
let broker: LocalBroker | undefined;
let traceStore: TraceStoreServer | undefined;
const services: ServiceProcess[] = [];
let stopping = false;

async function stopAll(exitCode: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    say('stopping…');
    await Promise.all(services.map((service) => service.stop()));
    await broker?.stop();
    await traceStore?.close();
  }
  process.exit(exitCode);
}
process.on('SIGINT', () => void stopAll(0));
// The services have their own process group; they must not outlive this one however it ends.
process.on('exit', () => services.forEach((service) => service.child.exitCode === null && service.child.kill('SIGKILL')));
process.on('SIGTERM', () => void stopAll(0));

try {
  let brokers = config.KAFKA_BROKERS?.join(',');
  if (!brokers) {
    const started = performance.now();
    say('starting the local Kafka broker (the first start downloads it from Maven Central)…');
    broker = await startLocalBroker({ port: 9092, controllerPort: 9093, dataDir: new URL('../.data/kafka', import.meta.url).pathname, log: say, ownProcessGroup: true });
    brokers = broker.brokers;
    say(`Kafka ready on ${brokers} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  if (!config.OTEL_EXPORTER_OTLP_ENDPOINT && !(await canConnect('127.0.0.1', 4318))) {
    const store = await openTraceStore(traceStoreOptions(config));
    traceStore = await startTraceStoreServer(store);
    say(`no trace backend configured: the embedded trace store takes OTLP on ${traceStore.otlpUrl} (${store.spanCount} spans kept)`);
  }
  const env = { KAFKA_BROKERS: brokers };
  const start = (name: 'validation' | 'kitchen' | 'gateway') => {
    const service = startService(name, env, { onLine: (line) => process.stdout.write(`${line}\n`), ownProcessGroup: true });
    services.push(service);
    service.child.on('exit', (code, signal) => {
      if (!stopping) {
        say(`${name} exited unexpectedly (${code ?? signal}); stopping the pipeline`);
        void stopAll(1);
      }
    });
    return service.ready;
  };
  // The first process creates the topics; starting the others after it keeps them from racing to do the same.
  await start('validation');
  const [gatewayUrl] = await Promise.all([start('gateway'), start('kitchen')]);
  say(`ready: gateway ${gatewayUrl}, Swagger UI ${gatewayUrl}/docs — Ctrl-C stops everything`);
  if (traceStore) say(`traces: ${traceStore.queryUrl} (Jaeger api/v3 at ${traceStore.queryUrl}/api/v3/…)`);
  say(`try: curl -si -X POST ${gatewayUrl}/orders/online -H 'content-type: application/json' -d '{"customerName":"Aiko Tanaka","deliveryAddress":{"street":"12 Fulton Street","city":"New York","zip":"10038"},"items":[{"menuItemId":"tuna-nigiri","quantity":2}]}'`);
} catch (error) {
  say((error as Error).message);
  await stopAll(1);
}
