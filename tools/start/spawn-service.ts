import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

const root = new URL('../..', import.meta.url).pathname;

/**
 * Every service's Node flags. kafkajs 2.2.4 schedules negative timeouts on Node 24 (kafkajs#1751, harmless): the
 * warning stays out of the logs. A young generation of at most 2 × 4 MB instead of V8's default for a machine with
 * this much memory keeps each process's resident memory down under load at no measurable CPU cost (BENCHMARKS.md).
 * The compile cache spares a restarted service the type stripper.
 */
export const NODE_FLAGS = [
  '--disable-warning=TimeoutNegativeWarning',
  '--max-semi-space-size=4',
  '--import',
  './common/service/compile-cache.mjs',
];

/**
 * Every service's environment, unless the caller's says otherwise. glibc gives each thread that allocates (libuv's
 * pool, V8's workers) an arena of its own, up to eight per core, and memory freed in one arena serves only that
 * arena: two arenas keep each process's resident memory lower at no measurable CPU cost (BENCHMARKS.md). And once a
 * big buffer of its own mapping (a fetch's megabyte) is freed, glibc serves the next ones that size from its arena,
 * where memory freed between live blocks stays resident: a fixed threshold of 128 KB keeps them in mappings returned
 * when freed (a socket's 64 KB reads stay in the arena), which takes 5-25 MB off the main arena while a history is
 * read (docs/benchmarks-history.md, tuning 29).
 */
export const SERVICE_ENV = { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '131072' };

/** The pipeline's Node processes: each loads its telemetry preload before its main module. */
const SERVICES = {
  gateway: { preload: 'gateway/instrument.ts', main: 'gateway/server.ts' },
  validation: { preload: 'workers/validation/instrument.ts', main: 'workers/validation/main.ts' },
  kitchen: { preload: 'workers/kitchen/instrument.ts', main: 'workers/kitchen/main.ts' },
} as const;
export type ServiceName = keyof typeof SERVICES;

/** The arguments after `node` that run a service: the Node flags, its telemetry preload, its main module. */
export function serviceCommand(name: ServiceName): string[] {
  return [...NODE_FLAGS, '--import', `./${SERVICES[name].preload}`, SERVICES[name].main];
}

/** A service running as a child process. */
export interface ServiceProcess {
  name: ServiceName;
  child: ChildProcess;
  /** Resolves when the service says it is running (with the gateway's URL), whatever its LOG_LEVEL; rejects if it exits first. */
  ready: Promise<string | undefined>;
  /** Every line it printed so far. */
  lines: string[];
  /** Resolves with the first line (printed so far or later) that `matches`, or undefined after `timeoutMs`. */
  lineMatching(matches: (line: string) => boolean, timeoutMs?: number): Promise<string | undefined>;
  /** Sends `signal` and waits for the exit, SIGKILL after `graceMs`; resolves with the exit code or signal. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<number | string | null>;
}

/**
 * Starts one service with the current Node binary; each line it prints goes to `onLine` as well.
 * `ownProcessGroup` keeps a terminal's Ctrl-C away from it, so only the caller decides when it stops;
 * `nodeFlags` go to Node before the preload (e.g. `--cpu-prof`).
 */
export function spawnService(
  name: ServiceName,
  env: Record<string, string | undefined>,
  {
    onLine,
    ownProcessGroup = false,
    nodeFlags = [],
  }: { onLine?: (line: string) => void; ownProcessGroup?: boolean; nodeFlags?: string[] } = {},
): ServiceProcess {
  const child = spawn(process.execPath, [...nodeFlags, ...serviceCommand(name)], {
    cwd: root,
    env: { ...SERVICE_ENV, ...process.env, ...env },
    // The IPC channel carries one message: that the service is running.
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    detached: ownProcessGroup,
  });
  const lines: string[] = [];
  const watchers = new Set<(line: string) => void>();
  const exited = once(child, 'exit');
  const ready = new Promise<string | undefined>((resolve, reject) => {
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        lines.push(line);
        onLine?.(line);
        for (const watcher of watchers) watcher(line);
      });
    }
    child.on('message', (message: { ituna?: string; url?: string }) => {
      if (message?.ituna === 'running') resolve(message.url);
    });
    exited.then(([code, signal]) =>
      reject(new Error(`${name} exited (${code ?? signal}) before it was ready:\n${lines.slice(-20).join('\n')}`)),
    );
  });
  ready.catch(() => {});
  return {
    name,
    child,
    ready,
    lines,
    lineMatching(matches, timeoutMs = 10_000) {
      const seen = lines.find(matches);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve) => {
        const done = (line?: string) => {
          clearTimeout(timer);
          watchers.delete(watcher);
          resolve(line);
        };
        const watcher = (line: string) => matches(line) && done(line);
        const timer = setTimeout(done, timeoutMs);
        watchers.add(watcher);
      });
    },
    async stop(signal = 'SIGTERM', graceMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode ?? child.signalCode;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const [code, sig] = await exited;
      clearTimeout(timer);
      return code ?? sig;
    },
  };
}
