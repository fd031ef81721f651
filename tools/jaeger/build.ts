import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../start/ports.ts';

/** The Jaeger release built: the v1.75.0 tag is the same commit as v2.12.0 (the approved release) and carries the v2 binary. */
const JAEGER_MODULE_VERSION = 'v1.75.0';
export const JAEGER_VERSION = '2.12.0';
const JAEGER_PACKAGE = 'github.com/jaegertracing/jaeger/cmd/jaeger';

const root = join(import.meta.dirname, '..', '..');
const cacheDir = join(root, '.cache', 'jaeger', JAEGER_MODULE_VERSION);
/** Where the built binary is kept (git-ignored). */
const jaegerBinary = join(cacheDir, 'jaeger');
const configFile = join(import.meta.dirname, 'config.yaml');

/** Runs `go` with its output given line by line to `onLine`; rejects with the last lines when it fails. */
async function go(args: string[], cwd: string, onLine: (line: string) => void): Promise<void> {
  const child = spawn('go', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const tail: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      tail.push(line);
      if (tail.length > 30) tail.shift();
      onLine(line);
    });
  }
  const [code] = await once(child, 'close');
  if (code !== 0) throw new Error(`go ${args.join(' ')} failed (exit ${code}):\n${tail.join('\n')}`);
}

/**
 * The path of a Jaeger v2 binary, built once from the Go module proxy into .cache/jaeger/ (several minutes of CPU and
 * about 1 GB of Go module cache the first time). Throws when Go is not installed.
 */
export async function buildJaeger({ log = (line: string) => console.error(line) } = {}): Promise<string> {
  if (existsSync(jaegerBinary)) return jaegerBinary;
  const probe = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error(
      'Building Jaeger needs Go ("go" was not found on PATH): install Go 1.21 or newer from https://go.dev/dl/ or your package manager (apt-get install golang-go), or run Jaeger with Docker (docker compose up jaeger).',
    );
  }
  const started = performance.now();
  log(`building Jaeger ${JAEGER_VERSION} with ${probe.stdout.trim()} (first time only; several minutes)…`);
  // A scratch module that requires Jaeger as a tool: `go install …@version` is refused because Jaeger's go.mod has a
  // replace directive, `go get -tool` is not.
  const moduleDir = join(cacheDir, 'module');
  await mkdir(moduleDir, { recursive: true });
  // Jaeger v1.75.0 needs Go 1.24.6; an older go fetches that toolchain from the module proxy by itself.
  await writeFile(join(moduleDir, 'go.mod'), 'module example.com/jaegerbuild\n\ngo 1.24.6\n');
  let downloads = 0;
  await go(['get', '-tool', `${JAEGER_PACKAGE}@${JAEGER_MODULE_VERSION}`], moduleDir, (line) => {
    if (line.startsWith('go: downloading')) downloads++;
    if (line.startsWith('go: downloading') && downloads % 25 === 1)
      log(`  fetching modules: ${downloads} so far (${line.slice('go: downloading '.length)})`);
  });
  const packages = spawnSync('go', ['list', '-deps', JAEGER_PACKAGE], {
    cwd: moduleDir,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const total = packages.status === 0 ? packages.stdout.trim().split('\n').length : undefined;
  let compiled = 0;
  let lastReport = performance.now();
  const partial = `${jaegerBinary}.partial`;
  // -v names each package as it compiles; those already in Go's build cache are not named.
  await go(['build', '-v', '-o', partial, JAEGER_PACKAGE], moduleDir, () => {
    compiled++;
    if (performance.now() - lastReport > 10_000) {
      lastReport = performance.now();
      log(
        `  compiling: ${compiled}${total ? ` of ${total}` : ''} packages (${Math.round((performance.now() - started) / 1000)} s)`,
      );
    }
  });
  await rename(partial, jaegerBinary);
  log(`Jaeger ${JAEGER_VERSION} built in ${Math.round((performance.now() - started) / 1000)} s: ${jaegerBinary}`);
  return jaegerBinary;
}

/** A Jaeger v2 process started by this process. */
export interface RunningJaeger {
  /** Base URL for OTEL_EXPORTER_OTLP_ENDPOINT (OTLP/HTTP). */
  otlpUrl: string;
  /** Base URL of the query API (api/v3) and UI, for JAEGER_QUERY_URL. */
  queryUrl: string;
  healthUrl: string;
  pid: number;
  /** SIGTERM, then SIGKILL after 10 s. */
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
// Jaeger must never outlive the process that started it.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Builds Jaeger if needed and runs it with memory storage on 127.0.0.1 (ports 0 or omitted = free ones; `npm run jaeger`
 * passes Jaeger's own); resolves once its health check says it is ready.
 */
export async function startJaeger(
  options: {
    otlpPort?: number;
    queryPort?: number;
    queryGrpcPort?: number;
    healthPort?: number;
    host?: string;
    log?: (line: string) => void;
    inheritOutput?: boolean;
    startTimeoutMs?: number;
  } = {},
): Promise<RunningJaeger> {
  const log = options.log ?? (() => {});
  const binary = await buildJaeger({ log });
  const host = options.host ?? '127.0.0.1';
  const port = async (given: number | undefined) => given || (await freePort());
  const [otlpPort, queryPort, queryGrpcPort, healthPort] = [
    await port(options.otlpPort),
    await port(options.queryPort),
    await port(options.queryGrpcPort),
    await port(options.healthPort),
  ];
  const env = {
    ...process.env,
    ITUNA_JAEGER_OTLP_HTTP: `${host}:${otlpPort}`,
    ITUNA_JAEGER_QUERY_HTTP: `${host}:${queryPort}`,
    ITUNA_JAEGER_QUERY_GRPC: `${host}:${queryGrpcPort}`,
    ITUNA_JAEGER_HEALTH: `${host}:${healthPort}`,
    ITUNA_JAEGER_LOG_LEVEL: process.env.ITUNA_JAEGER_LOG_LEVEL ?? (options.inheritOutput ? 'info' : 'warn'),
  };
  const child = spawn(binary, ['--config', configFile], {
    env,
    stdio: options.inheritOutput ? ['ignore', 'inherit', 'inherit'] : ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  const output: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    if (stream)
      createInterface({ input: stream }).on('line', (line) => {
        output.push(line);
        if (output.length > 40) output.shift();
      });
  }
  const exited = once(child, 'exit').then(() => running.delete(child));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    }
  };

  const url = (p: number) => `http://${host}:${p}`;
  const healthUrl = `${url(healthPort)}/status`;
  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
  for (;;) {
    const healthy = await fetch(healthUrl, { signal: AbortSignal.timeout(1000) })
      .then(async (response) => response.ok && ((await response.json()) as { healthy?: boolean }).healthy === true)
      .catch(() => false);
    if (healthy) break;
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      const why =
        child.exitCode !== null || child.signalCode !== null
          ? `exited (${child.exitCode ?? child.signalCode})`
          : 'was not healthy in time';
      await stop();
      throw new Error(`Jaeger ${why}:\n${output.join('\n')}`);
    }
    await sleep(100);
  }
  return { otlpUrl: url(otlpPort), queryUrl: url(queryPort), healthUrl, pid: child.pid!, stop };
}
