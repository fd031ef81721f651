import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile, readdir } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { createKafka } from '../../common/kafka/client.ts';
import { createLogger } from '../../common/logger.ts';
import { percentile } from '../traces/percentiles.ts';
import { NODE_FLAGS } from '../start/spawn-service.ts';

/** CPU milliseconds (user + system) in a `/proc/…/stat` line; Linux's clock ticks are 1/100 s. */
const statCpuMs = (stat: string) => {
  const fields = stat.split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
};

/** CPU milliseconds (user + system) a process has used so far. */
export async function cpuMs(pid: number): Promise<number> {
  return statCpuMs(await readFile(`/proc/${pid}/stat`, 'utf8'));
}

/** A JVM's JIT compiler threads, by their name. */
const isJitThread = (comm: string) => /^C\d CompilerThre/.test(comm);

/**
 * The sum of `cpuMsOf` over the live threads of a process whose name `counts`, each read from its file `file` in
 * `/proc/<pid>/task/<tid>/`. A thread that ended meanwhile took its time with it: it counts in neither reading.
 */
async function threadsCpuMs(
  pid: number,
  file: 'stat' | 'schedstat',
  cpuMsOf: (text: string) => number,
  counts: (comm: string) => boolean,
): Promise<number> {
  let ms = 0;
  for (const tid of await readdir(`/proc/${pid}/task`).catch(() => [])) {
    const [comm, text] = await Promise.all(
      ['comm', file].map((f) => readFile(`/proc/${pid}/task/${tid}/${f}`, 'utf8').catch(() => '')),
    );
    if (text && counts(comm!)) ms += cpuMsOf(text);
  }
  return ms;
}

/**
 * CPU milliseconds a JVM has used so far, less what its JIT compiler threads used: compiling is what a freshly
 * started broker does for its first minutes, not work per order, and a broker started for a measurement would
 * otherwise count it.
 */
async function cpuMsWithoutJit(pid: number): Promise<number> {
  return (await cpuMs(pid)) - (await threadsCpuMs(pid, 'stat', statCpuMs, isJitThread));
}

/**
 * CPU milliseconds the live threads of a process have used so far, from the scheduler's nanosecond counters
 * (`schedstat`), less a JVM's JIT compiler threads when `withoutJit`. The 10 ms ticks of `/proc/…/stat` are too
 * coarse for a process that is nearly idle: 0.5 % of a core over 8 s is four of them. A thread that ends takes its
 * time with it, so this suits a window in which no thread comes or goes, as when idle.
 */
const schedCpuMs = (pid: number, withoutJit: boolean) =>
  threadsCpuMs(
    pid,
    'schedstat',
    (schedstat) => Number(schedstat.split(' ')[0]) / 1e6,
    (comm) => !(withoutJit && isJitThread(comm)),
  );

/** Peak resident set (VmHWM) of a process, in MB. */
export async function peakRssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

/** The CPU milliseconds each of `pids` has used (a JVM's without its JIT compiler threads), and when they were read. */
export async function cpuSnapshot(
  pids: number[],
  jvms: ReadonlySet<number> = new Set(),
): Promise<{ at: number; ms: number[] }> {
  return {
    ms: await Promise.all(pids.map((pid) => (jvms.has(pid) ? cpuMsWithoutJit(pid) : cpuMs(pid)))),
    at: performance.now(),
  };
}

/**
 * Waits until none of `pids` used more than `quietMs` of CPU in the last `windowMs` (at most `limitMs`): a service
 * woken from SIGSTOP first catches up with what it missed (the others' order statuses), which is not idle.
 */
export async function quiet(
  pids: number[],
  { quietMs = 10, windowMs = 500, limitMs = 10_000 }: { quietMs?: number; windowMs?: number; limitMs?: number } = {},
): Promise<void> {
  const deadline = performance.now() + limitMs;
  let last = await cpuSnapshot(pids);
  while (performance.now() < deadline) {
    await sleep(windowMs);
    const now = await cpuSnapshot(pids);
    if (now.ms.every((ms, i) => ms - last.ms[i]! <= quietMs)) return;
    last = now;
  }
}

/**
 * Each of `pids`' CPU over `seconds` with nothing to do, once none of the Node processes among them (the ones not in
 * `jvms`) is busy: the snapshot pair (in ticks, like every other snapshot, for `aboveIdle`), and each process's share
 * of a core in per cent, from the scheduler's nanosecond counters.
 */
export async function idleCpu(
  pids: number[],
  jvms: ReadonlySet<number>,
  seconds: number,
  quietOptions?: Parameters<typeof quiet>[1],
): Promise<{ pair: [Snapshot, Snapshot]; percent: number[] }> {
  await quiet(
    pids.filter((pid) => !jvms.has(pid)),
    quietOptions,
  );
  const precise = () => Promise.all(pids.map((pid) => schedCpuMs(pid, jvms.has(pid))));
  const [start, preciseStart] = await Promise.all([cpuSnapshot(pids, jvms), precise()]);
  await sleep(seconds * 1000);
  const [end, preciseEnd] = await Promise.all([cpuSnapshot(pids, jvms), precise()]);
  return {
    pair: [start, end],
    percent: preciseEnd.map((ms, i) => ((ms - preciseStart[i]!) / (end.at - start.at)) * 100),
  };
}

type Snapshot = Awaited<ReturnType<typeof cpuSnapshot>>;

/**
 * What each process used between two snapshots, less what it uses idle over as long (`idle` is a snapshot pair
 * taken just before, with nothing to do: heartbeats, fetch polls, span exports).
 */
export function aboveIdle(idle: [Snapshot, Snapshot], load: [Snapshot, Snapshot]): number[] {
  const loadMs = load[1].at - load[0].at;
  const idleMs = Math.max(1, idle[1].at - idle[0].at);
  return load[1].ms.map((ms, i) =>
    Math.max(0, ms - load[0].ms[i]! - ((idle[1].ms[i]! - idle[0].ms[i]!) * loadMs) / idleMs),
  );
}

/** min / median / max of some figures, for printing a spread beside every ratio. */
export function spread(values: number[]): { min: number; median: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { min: sorted[0] ?? 0, median: percentile(sorted, 50), max: sorted.at(-1) ?? 0 };
}

/** "median (min–max)" with `digits` decimals. */
export function showSpread(values: number[], digits = 0, unit = ''): string {
  const { min, median, max } = spread(values);
  return `${median.toFixed(digits)}${unit} (${min.toFixed(digits)}–${max.toFixed(digits)}, ${values.length} rounds)`;
}

/**
 * Empties every topic of the broker (records deleted up to the high watermark) so the next services start with no
 * history to replay and no backlog: the gateway and the kitchen read orders.status from its beginning at start.
 */
export async function emptyTopics(brokers: string): Promise<void> {
  const kafka = createKafka('bench-admin', [brokers], createLogger('bench', 'warn'));
  const admin = kafka.admin();
  await admin.connect();
  try {
    for (const topic of await admin.listTopics()) {
      if (topic.startsWith('__')) continue;
      const offsets = await admin.fetchTopicOffsets(topic);
      const partitions = offsets
        .filter((p) => Number(p.high) > Number(p.low))
        .map((p) => ({ partition: p.partition, offset: p.high }));
      if (partitions.length > 0) await admin.deleteTopicRecords({ topic, partitions });
    }
  } finally {
    await admin.disconnect();
  }
}

/** An OTLP receiver in its own process: `count` reads and discards (bench/span-sink.ts), `store` keeps every span in the embedded trace store. */
export interface Receiver {
  url: string;
  pid: number;
  child: ChildProcess;
  count(): Promise<{ exports: number; spans: number; bytes: number }>;
  /** The last exports it received, to replay elsewhere. */
  samples(): Promise<Array<{ contentType: string; body: Buffer }>>;
  stop(): Promise<void>;
}

export async function startReceiver(mode: 'count' | 'store'): Promise<Receiver> {
  const child = spawn(
    process.execPath,
    [...NODE_FLAGS, 'tools/bench/span-sink.ts', ...(mode === 'store' ? ['--store'] : [])],
    {
      cwd: new URL('../..', import.meta.url).pathname,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const exited = once(child, 'exit');
  const url = await Promise.race([
    new Promise<string>((resolve) =>
      createInterface({ input: child.stdout! }).on(
        'line',
        (l) => l.includes('listening at') && resolve(l.split(' ').at(-1)!),
      ),
    ),
    exited.then(() => Promise.reject(new Error(`the ${mode} receiver exited before it listened`))),
  ]);
  return {
    url,
    pid: child.pid!,
    child,
    count: async () =>
      (await (await fetch(`${url}/count`)).json()) as { exports: number; spans: number; bytes: number },
    samples: async () =>
      ((await (await fetch(`${url}/samples`)).json()) as Array<{ contentType: string; body: string }>).map((s) => ({
        contentType: s.contentType,
        body: Buffer.from(s.body, 'base64'),
      })),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Resolves after `ms`, at most. */
export const pause = (ms: number) => sleep(ms);

/** A bench script's check of a whole-number option: none when `value` is one from `min` to `max`, else what is wrong. */
export const wholeNumberProblem = (name: string, value: number, min: number, max: number): string[] =>
  Number.isInteger(value) && value >= min && value <= max
    ? []
    : [`--${name} must be a whole number from ${min} to ${max}`];

/** Prints what is wrong with a bench script's options and exits with 2, if anything is. */
export function exitOnProblems(problems: string[]): void {
  if (problems.length === 0) return;
  process.stderr.write(`${problems.join('\n')}\n`);
  process.exit(2);
}

/**
 * Runs the benchmark script `script` again as a child process (with the services' Node flags, from the project's
 * root) and resolves with what it printed on its `RESULT <json>` line; hands every other stdout line to `onLine`, and
 * SIGKILLs the child after `limitMs`. How a benchmark measures each variant in a fresh process of its own.
 */
export async function runForResult<T>(
  script: string,
  args: string[],
  options: { limitMs: number; env?: NodeJS.ProcessEnv; onLine?: (line: string) => void },
): Promise<T> {
  const child = spawn(process.execPath, [...NODE_FLAGS, script, ...args], {
    cwd: new URL('../..', import.meta.url).pathname,
    stdio: ['ignore', 'pipe', 'inherit'],
    ...(options.env ? { env: options.env } : {}),
  });
  const exited = once(child, 'exit');
  const timer = setTimeout(() => child.kill('SIGKILL'), options.limitMs);
  let result: T | undefined;
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (line.startsWith('RESULT ')) result = JSON.parse(line.slice(7)) as T;
    else options.onLine?.(line);
  });
  const [code, signal] = await exited;
  clearTimeout(timer);
  // Lines may still be on their way once the process is gone.
  await sleep(50);
  if (result === undefined) throw new Error(`the ${args.join(' ')} child ended (${signal ?? code}) without a result`);
  return result;
}
