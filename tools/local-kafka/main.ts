import { configOrExit, integer, loadConfig } from '../../common/config.ts';
import { KAFKA_NODES_MAX, localClusterDataDir, startLocalCluster } from './cluster.ts';

// `npm run kafka`: the local broker alone on 127.0.0.1:9092 (ITUNA_KAFKA_NODES=3: a cluster on 9092, 9094, 9096),
// data kept in .data/.
const config = configOrExit(() => loadConfig({ ITUNA_KAFKA_NODES: integer(1, 1, KAFKA_NODES_MAX) }, process.env));
const started = performance.now();
const cluster = await startLocalCluster({
  nodes: config.ITUNA_KAFKA_NODES,
  port: 9092,
  controllerPort: 9093,
  dataDir: localClusterDataDir(config.ITUNA_KAFKA_NODES),
  log: (line) => console.error(line),
});
const pids = cluster.nodes.map((n) => n.pid).join(', ');
console.error(
  `Kafka ready on ${cluster.brokers} in ${((performance.now() - started) / 1000).toFixed(1)} s (pid ${pids}); Ctrl-C stops it`,
);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void cluster.stop().then(() => process.exit(0)));
}
