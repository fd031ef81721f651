import { startLocalBroker } from './local-broker.ts';

// `npm run kafka`: the local broker alone, on 127.0.0.1:9092, data kept in .data/kafka.
const started = performance.now();
const broker = await startLocalBroker({
  port: 9092,
  controllerPort: 9093,
  dataDir: new URL('../.data/kafka', import.meta.url).pathname,
  log: (line) => console.error(line),
});
console.error(`Kafka ready on ${broker.brokers} in ${((performance.now() - started) / 1000).toFixed(1)} s (pid ${broker.pid}); Ctrl-C stops it`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void broker.stop().then(() => process.exit(0)));
}
