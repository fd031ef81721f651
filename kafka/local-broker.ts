import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, openSync, closeSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { canConnect } from '../common/kafka/reachable.ts';
import { freePort } from '../start/ports.ts';

const kafkaDir = import.meta.dirname;
const cacheRoot = join(kafkaDir, '..', '.cache', 'kafka');

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
    throw new Error(`The local Kafka broker needs ${install}; "${command}" was not found on PATH. Or set KAFKA_BROKERS to use a running Kafka.`);
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
    const mvn = spawn('mvn', ['-B', '-q', '-f', join(kafkaDir, 'pom.xml'), 'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${staging}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
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

function serverProperties(port: number, controllerPort: number, logDir: string): string {
  const settings: Record<string, string | number> = {
    'process.roles': 'broker,controller',
    'node.id': 1,
    'controller.quorum.voters': `1@127.0.0.1:${controllerPort}`,
    listeners: `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${port}`,
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'log.dirs': logDir,
    // One node: every internal topic has a single replica, and a group starts without waiting for more members.
    'offsets.topic.replication.factor': 1,
    'offsets.topic.num.partitions': 1,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    'share.coordinator.state.topic.replication.factor': 1,
    'share.coordinator.state.topic.min.isr': 1,
    'default.replication.factor': 1,
    'min.insync.replicas': 1,
    'group.initial.rebalance.delay.ms': 0,
    // Topics are created deliberately, with their partition counts, by the processes that use them.
    'auto.create.topics.enable': 'false',
    'num.partitions': 1,
    'log.cleaner.dedupe.buffer.size': 4 * 1024 * 1024,
  };
  return Object.entries(settings).map(([key, value]) => `${key}=${value}`).join('\n') + '\n';
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

/** Formats (first time only) and starts a single-node KRaft broker on 127.0.0.1; resolves once it accepts clients. */
export async function startLocalBroker(options: LocalBrokerOptions = {}): Promise<LocalBroker> {
  const log = options.log ?? (() => {});
  const classpath = await ensureKafkaJars(log);
  const port = options.port || (await freePort());
  const controllerPort = options.controllerPort || (await freePort());
  const temporary = !options.dataDir;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'ituna-kafka-')));
  const logDir = join(dataDir, 'logs');
  await mkdir(dataDir, { recursive: true });
  const config = join(dataDir, 'server.properties');
  await writeFile(config, serverProperties(port, controllerPort, logDir));

  const java = (mainClass: string, args: string[], stdio: number | 'ignore') =>
    spawn(
      'java',
      ['-Xms128m', '-Xmx512m', '-XX:+UseSerialGC', '-Djava.awt.headless=true', `-Dlog4j2.configurationFile=${join(kafkaDir, 'log4j2.properties')}`, '-cp', classpath, mainClass, ...args],
      { stdio: ['ignore', stdio, stdio], detached: options.ownProcessGroup ?? false },
    );
  const brokerLog = join(dataDir, 'broker.log');

  if (!existsSync(join(logDir, 'meta.properties'))) {
    const fd = openSync(brokerLog, 'a');
    const [code] = await once(java('kafka.tools.StorageTool', ['format', '-t', clusterId(), '-c', config], fd), 'exit');
    closeSync(fd);
    if (code !== 0) throw new Error(`formatting the Kafka data dir failed (exit ${code}):\n${await tail(brokerLog)}`);
  }

  const fd = openSync(brokerLog, 'a');
  const child = java('kafka.Kafka', [config], fd);
  closeSync(fd);
  running.add(child);
  const exited = once(child, 'exit').then(() => running.delete(child));

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(killer);
    }
    if (temporary) await rm(dataDir, { recursive: true, force: true });
  };

  // The PLAINTEXT port opens only once the broker is unfenced, so a connection means it is ready.
  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
  while (!(await canConnect('127.0.0.1', port))) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      const why = child.exitCode !== null || child.signalCode !== null ? `exited (${child.exitCode ?? child.signalCode})` : 'did not open its port in time';
      const lines = await tail(brokerLog);
      await stop();
      throw new Error(`the local Kafka broker ${why}:\n${lines}`);
    }
    await sleep(100);
  }
  return { brokers: `127.0.0.1:${port}`, port, pid: child.pid!, dataDir, stop, unref: () => child.unref() };
}
