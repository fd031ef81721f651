import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, openSync, closeSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { canConnect } from '../../common/kafka/reachable.ts';
import { freePort } from '../start/ports.ts';

const kafkaDir = import.meta.dirname;
const cacheRoot = join(kafkaDir, '..', '..', '.cache', 'kafka');

/** A running single-node KRaft broker started by this process. */
export interface LocalBroker {
  /** Bootstrap servers, `127.0.0.1:PORT`. */
  brokers: string;
  port: number;
  pid: number;
  dataDir: string;
  /** SIGTERM, then SIGKILL if it has not exited within 20 s; removes a temporary data dir. */
  stop(): Promise<void>;
  /** Lets this process end while the broker runs (it is still killed when the process exits). */
  unref(): void;
}

/** Where and how to start a broker; every field is optional. */
export interface LocalBrokerOptions {
  /** PLAINTEXT port; omitted or 0 picks a free one. */
  port?: number;
  controllerPort?: number;
  /** Persistent data directory; omitted means a fresh temporary one, removed on stop. */
  dataDir?: string;
  log?: (line: string) => void;
  startTimeoutMs?: number;
  /** Keep a terminal's Ctrl-C away from the broker, so the caller can stop its clients first. */
  ownProcessGroup?: boolean;
}

function requireTool(command: string, args: string[], install: string): void {
  const probe = spawnSync(command, args, { stdio: 'ignore' });
  if (probe.error || probe.status !== 0) {
    throw new Error(
      `The local Kafka broker needs ${install}; "${command}" was not found on PATH. Or set KAFKA_BROKERS to use a running Kafka.`,
    );
  }
}

/** The broker's classpath; the first call downloads the jars named in kafka/pom.xml from Maven Central. */
export async function ensureKafkaJars(log: (line: string) => void = () => {}): Promise<string> {
  const pom = await readFile(join(kafkaDir, 'pom.xml'));
  // Keyed by the pom's content, so changing a version fetches a fresh set of jars.
  const lib = join(cacheRoot, createHash('sha256').update(pom).digest('hex').slice(0, 12));
  requireTool('java', ['-version'], 'Java 17 or newer (e.g. apt-get install openjdk-17-jre-headless)');
  if (existsSync(join(lib, 'complete'))) return join(lib, '*');

  requireTool('mvn', ['-v'], 'Maven (e.g. apt-get install maven)');
  log('downloading the Kafka broker jars with Maven (first start only)…');
  await mkdir(cacheRoot, { recursive: true });
  const staging = await mkdtemp(join(cacheRoot, 'download-'));
  try {
    const mvn = spawn(
      'mvn',
      [
        '-B',
        '-q',
        '-f',
        join(kafkaDir, 'pom.xml'),
        'dependency:copy-dependencies',
        '-DincludeScope=runtime',
        `-DoutputDirectory=${staging}`,
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    mvn.stdout.on('data', (chunk) => (output += chunk));
    mvn.stderr.on('data', (chunk) => (output += chunk));
    const [code] = await once(mvn, 'exit');
    if (code !== 0) throw new Error(`Maven could not fetch the Kafka jars (exit ${code}):\n${output.slice(-3000)}`);
    await writeFile(join(staging, 'complete'), `${(await readdir(staging)).length} jars\n`);
    // Atomic: a concurrent start sees either no cache or a complete one; the loser of the race keeps the winner's.
    await rename(staging, lib).catch(async (error) => {
      if (!existsSync(join(lib, 'complete'))) throw error;
    });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return join(lib, '*');
}

/** A Kafka cluster id: 16 random bytes in URL-safe base64, as Kafka's own Uuid prints them. */
function clusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/** One node's place in a cluster: its id, its ports and where its log lives. */
interface NodeSpec {
  id: number;
  port: number;
  controllerPort: number;
  dir: string;
}

function serverProperties(node: NodeSpec, all: NodeSpec[]): string {
  // Three replicas where there are three brokers, so one broker may fail while writes still need two copies;
  // a smaller cluster keeps every copy it can and lets a single one acknowledge.
  const replicas = Math.min(3, all.length);
  const minInSync = all.length >= 3 ? 2 : 1;
  const settings: Record<string, string | number> = {
    'process.roles': 'broker,controller',
    'node.id': node.id,
    'controller.quorum.voters': all.map((n) => `${n.id}@127.0.0.1:${n.controllerPort}`).join(','),
    listeners: `PLAINTEXT://127.0.0.1:${node.port},CONTROLLER://127.0.0.1:${node.controllerPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${node.port}`,
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'log.dirs': join(node.dir, 'logs'),
    'offsets.topic.replication.factor': replicas,
    'offsets.topic.num.partitions': 1,
    'transaction.state.log.replication.factor': replicas,
    'transaction.state.log.min.isr': minInSync,
    'transaction.state.log.num.partitions': 3,
    'share.coordinator.state.topic.replication.factor': replicas,
    'share.coordinator.state.topic.min.isr': minInSync,
    'default.replication.factor': replicas,
    'min.insync.replicas': minInSync,
    // A group starts without waiting for more members.
    'group.initial.rebalance.delay.ms': 0,
    // A transaction left open by a killed worker holds back every reader of its partitions until it is aborted: look
    // for timed-out transactions every second (the default is every 10 s).
    'transaction.abort.timed.out.transaction.cleanup.interval.ms': 1000,
    // Topics are created deliberately, with their partition counts, by the processes that use them.
    'auto.create.topics.enable': 'false',
    'num.partitions': 1,
    'log.cleaner.dedupe.buffer.size': 4 * 1024 * 1024,
    // A local broker shares a small machine with the pipeline: one network thread and two request handlers (3 and 8
    // by default) do its work with fewer threads to hand each request between and wake; a tenth less of its CPU per
    // order at 400 orders/s, and no slower (docs/benchmarks-history.md, tuning 32).
    'num.network.threads': 1,
    'num.io.threads': 2,
    // A broker that dies is fenced, and its partitions get new leaders, after 3 s instead of 9 s.
    'broker.session.timeout.ms': 3000,
    'broker.heartbeat.interval.ms': 500,
    // Every node is also a controller. One that dies while it is the active controller must first be replaced: the
    // others elect a new one after 1 s without word from it (2 s by default), and the new controller then waits a
    // whole broker session before it fences the dead node, so its partitions move after about 4 s instead of 5-7 s.
    'controller.quorum.fetch.timeout.ms': 1000,
    'controller.quorum.election.timeout.ms': 500,
    'controller.quorum.election.backoff.max.ms': 500,
  };
  return `${Object.entries(settings)
    .map(([key, value]) => `${key}=${value}`)
    .join('\n')}\n`;
}

async function tail(file: string, lines = 30): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

const running = new Set<ChildProcess>();
// A broker must never outlive the process that started it, even when that process ends abruptly.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** One node of a local cluster. */
interface LocalNode {
  id: number;
  /** Its client address, `127.0.0.1:PORT`. */
  address: string;
  port: number;
  pid: number;
  alive(): boolean;
  /** Sends `signal` (SIGTERM: a clean shutdown; SIGKILL: a crash) and resolves once the node has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** A running local KRaft cluster: every node is both broker and controller. */
export interface LocalCluster {
  /** Bootstrap servers, every node's `127.0.0.1:PORT`, comma-separated. */
  brokers: string;
  nodes: LocalNode[];
  dataDir: string;
  /** SIGTERM to every node, then SIGKILL after 20 s; removes a temporary data dir. */
  stop(): Promise<void>;
  /** Lets this process end while the nodes run (they are still killed when the process exits). */
  unref(): void;
}

/** Where and how to start a cluster; every field is optional. */
export interface LocalClusterOptions extends LocalBrokerOptions {
  /** How many nodes (1 to 9); 1 is the single broker of `startLocalBroker`. */
  nodes?: number;
}

/** ITUNA_KAFKA_NODES: how many nodes the local cluster of `npm start` and `npm run kafka` has. */
export const KAFKA_NODES_MAX = 9;

/** The data dir `npm start` and `npm run kafka` keep a cluster of `nodes` nodes in; each size has its own, as each is formatted for its quorum. */
export function localClusterDataDir(nodes: number): string {
  return join(kafkaDir, '..', '..', '.data', nodes === 1 ? 'kafka' : `kafka-${nodes}-nodes`);
}

async function readClusterId(dirs: string[]): Promise<string | undefined> {
  for (const dir of dirs) {
    const meta = await readFile(join(dir, 'logs', 'meta.properties'), 'utf8').catch(() => '');
    const id = /^cluster\.id=(.+)$/m.exec(meta)?.[1];
    if (id) return id.trim();
  }
  return undefined;
}

/**
 * Formats (first time only) and starts a KRaft cluster of `nodes` nodes on 127.0.0.1, each with its own ports and
 * data dir; resolves once every node accepts clients. With a fixed `port`, node i (from 0) listens on
 * `port + 2i` and, with a fixed `controllerPort`, its controller on `controllerPort + 2i`.
 */
export async function startLocalCluster(options: LocalClusterOptions = {}): Promise<LocalCluster> {
  const log = options.log ?? (() => {});
  const count = options.nodes ?? 1;
  if (!Number.isInteger(count) || count < 1 || count > KAFKA_NODES_MAX)
    throw new Error(`a local cluster has 1 to ${KAFKA_NODES_MAX} nodes, not ${count}`);
  const classpath = await ensureKafkaJars(log);
  const temporary = !options.dataDir;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'ituna-kafka-')));
  const specs: NodeSpec[] = [];
  for (let i = 0; i < count; i++) {
    const port = options.port ? options.port + 2 * i : await freePort();
    const controllerPort = options.controllerPort ? options.controllerPort + 2 * i : await freePort();
    // One node keeps the layout a single broker always had; several get a folder each.
    specs.push({ id: i + 1, port, controllerPort, dir: count === 1 ? dataDir : join(dataDir, `node-${i + 1}`) });
  }
  const clusterIdOfAll = (await readClusterId(specs.map((s) => s.dir))) ?? clusterId();

  const java = (mainClass: string, args: string[], stdio: number | 'ignore') =>
    spawn(
      'java',
      [
        ...(count === 1 ? ['-Xms128m', '-Xmx512m'] : ['-Xms64m', '-Xmx384m']),
        '-XX:+UseSerialGC',
        // Extra JVM options, as Kafka's own scripts take them (e.g. -XX:TieredStopAtLevel=1: a cheaper start).
        ...(process.env.KAFKA_OPTS?.split(/\s+/).filter(Boolean) ?? []),
        '-Djava.awt.headless=true',
        `-Dlog4j2.configurationFile=${join(kafkaDir, 'log4j2.properties')}`,
        '-cp',
        classpath,
        mainClass,
        ...args,
      ],
      { stdio: ['ignore', stdio, stdio], detached: options.ownProcessGroup ?? false },
    );

  const nodes: Array<LocalNode & { exited: Promise<unknown>; log: string }> = [];
  const children: ChildProcess[] = [];
  const stopNodes = async () => {
    await Promise.all(
      nodes.map(async (node) => {
        if (!node.alive()) return;
        const killer = setTimeout(() => void node.kill('SIGKILL'), 20_000);
        await node.kill('SIGTERM');
        clearTimeout(killer);
      }),
    );
  };
  const stop = async () => {
    await stopNodes();
    if (temporary) await rm(dataDir, { recursive: true, force: true });
  };

  try {
    for (const spec of specs) {
      await mkdir(spec.dir, { recursive: true });
      const config = join(spec.dir, 'server.properties');
      await writeFile(config, serverProperties(spec, specs));
      const brokerLog = join(spec.dir, 'broker.log');
      if (!existsSync(join(spec.dir, 'logs', 'meta.properties'))) {
        const fd = openSync(brokerLog, 'a');
        const [code] = await once(
          java('kafka.tools.StorageTool', ['format', '-t', clusterIdOfAll, '-c', config], fd),
          'exit',
        );
        closeSync(fd);
        if (code !== 0)
          throw new Error(
            `formatting the Kafka data dir of node ${spec.id} failed (exit ${code}):\n${await tail(brokerLog)}`,
          );
      }
      const fd = openSync(brokerLog, 'a');
      const child = java('kafka.Kafka', [config], fd);
      closeSync(fd);
      running.add(child);
      children.push(child);
      const exited = once(child, 'exit').then(() => running.delete(child));
      const alive = () => child.exitCode === null && child.signalCode === null;
      nodes.push({
        id: spec.id,
        address: `127.0.0.1:${spec.port}`,
        port: spec.port,
        pid: child.pid!,
        alive,
        exited,
        log: brokerLog,
        async kill(signal = 'SIGTERM') {
          if (alive()) child.kill(signal);
          await exited;
        },
      });
    }

    // The PLAINTEXT port opens only once a broker is unfenced (which needs a controller quorum), so a connection
    // to every node means the cluster is ready.
    const deadline = Date.now() + (options.startTimeoutMs ?? 60_000 + 15_000 * (count - 1));
    for (const node of nodes) {
      while (!(await canConnect('127.0.0.1', node.port))) {
        if (!node.alive() || Date.now() > deadline) {
          const why = node.alive() ? 'did not open its port in time' : 'exited';
          throw new Error(
            `${count === 1 ? 'the local Kafka broker' : `node ${node.id} of the local Kafka cluster`} ${why}:\n${await tail(node.log)}`,
          );
        }
        await sleep(100);
      }
    }
  } catch (error) {
    await stop();
    throw error;
  }
  const publicNodes = nodes.map(({ exited: _exited, log: _log, ...node }) => node);
  return {
    brokers: nodes.map((n) => n.address).join(','),
    nodes: publicNodes,
    dataDir,
    stop,
    unref: () => {
      for (const child of children) child.unref();
    },
  };
}

/** Formats (first time only) and starts a single-node KRaft broker on 127.0.0.1; resolves once it accepts clients. */
export async function startLocalBroker(options: LocalBrokerOptions = {}): Promise<LocalBroker> {
  const cluster = await startLocalCluster({ ...options, nodes: 1 });
  const [node] = cluster.nodes;
  return {
    brokers: cluster.brokers,
    port: node!.port,
    pid: node!.pid,
    dataDir: cluster.dataDir,
    stop: cluster.stop,
    unref: cluster.unref,
  };
}
