import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Whether this machine has the JDK's `jcmd` and `jfr`, which the broker's profile needs (a JRE alone has neither). */
export async function canProfileBroker(): Promise<boolean> {
  try {
    await Promise.all([run('jcmd', ['-h']), run('jfr', ['--version'])]);
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts a Flight Recorder recording in the running broker (no restart, no JVM flag: `jcmd` attaches to it) with the
 * `profile` settings, which sample each thread running Java code every 10 ms; `stop` writes it to `file`.
 */
export async function recordBroker(pid: number, file: string): Promise<{ stop(): Promise<void> }> {
  const name = `bench-${process.pid}`;
  await run('jcmd', [String(pid), 'JFR.start', `name=${name}`, 'settings=profile']);
  return { stop: async () => void (await run('jcmd', [String(pid), 'JFR.stop', `name=${name}`, `filename=${file}`])) };
}

/** CPU milliseconds each of the broker's threads has used so far, by native thread id, with its Java name. */
export async function brokerThreadCpu(pid: number): Promise<Map<string, { name: string; ms: number }>> {
  const { stdout } = await run('jcmd', [String(pid), 'Thread.print'], { maxBuffer: 64 * 1024 * 1024 });
  return parseThreadCpu(stdout);
}

/** The `"name" … cpu=12.34ms … nid=0x1a2b` header lines of a `jcmd Thread.print` dump, by nid. */
export function parseThreadCpu(dump: string): Map<string, { name: string; ms: number }> {
  const threads = new Map<string, { name: string; ms: number }>();
  for (const line of dump.split('\n')) {
    const match = /^"(.+?)" .*?\bcpu=([\d.]+)ms\b.*?\bnid=(0x[\da-f]+|\d+)/.exec(line);
    if (match) threads.set(match[3]!, { name: match[1]!, ms: Number(match[2]) });
  }
  return threads;
}

/** A thread's kind: its name with the numbers that tell replicas apart taken out (`data-plane-kafka-request-handler-#`). */
const threadGroup = (name: string) => name.replace(/\d+/g, '#');

/** CPU milliseconds per kind of thread between two `brokerThreadCpu` readings, most first. */
export function threadCpuBetween(
  before: Map<string, { name: string; ms: number }>,
  after: Map<string, { name: string; ms: number }>,
): Array<{ group: string; ms: number }> {
  const groups = new Map<string, number>();
  for (const [nid, thread] of after) {
    const used = thread.ms - (before.get(nid)?.ms ?? 0);
    if (used > 0) groups.set(threadGroup(thread.name), (groups.get(threadGroup(thread.name)) ?? 0) + used);
  }
  return [...groups].map(([group, ms]) => ({ group, ms })).sort((a, b) => b.ms - a.ms);
}

/** The package of a Java frame such as `org.apache.kafka.common.record.MemoryRecords.writeTo(…)`: its lowercase segments. */
function packageOf(frame: string): string {
  const segments = frame.split('.');
  const firstClass = segments.findIndex((s) => /^[A-Z$]/.test(s));
  return firstClass > 0 ? segments.slice(0, firstClass).join('.') : segments.slice(0, -1).join('.');
}

/** `Class.method` of a frame, without its package. */
function methodOf(frame: string): string {
  const segments = frame.split('.');
  const firstClass = segments.findIndex((s) => /^[A-Z$]/.test(s));
  return firstClass >= 0 ? segments.slice(firstClass).join('.') : frame;
}

const isKafka = (frame: string) => frame.startsWith('kafka.') || frame.startsWith('org.apache.kafka.');

/**
 * Summarises `jfr print --events jdk.ExecutionSample` output: the share of samples by the package of the frame on top
 * (where the time was spent), by the nearest Kafka method on the stack (which part of the broker spent it), and by
 * kind of thread.
 */
export function summarizeExecutionSamples(
  text: string,
  top = 12,
): {
  samples: number;
  byPackage: Array<{ name: string; percent: number }>;
  byKafkaMethod: Array<{ name: string; percent: number }>;
  byThread: Array<{ name: string; percent: number }>;
} {
  const packages = new Map<string, number>();
  const kafkaMethods = new Map<string, number>();
  const threads = new Map<string, number>();
  let samples = 0;
  const add = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
  for (const event of text.split(/^jdk\.ExecutionSample \{$/m).slice(1)) {
    const frames = [...event.matchAll(/^ {4}([^\s(]+)\(/gm)].map((m) => m[1]!);
    if (frames.length === 0) continue;
    samples++;
    add(packages, packageOf(frames[0]!));
    const kafka = frames.find(isKafka);
    add(kafkaMethods, kafka ? methodOf(kafka) : '(no Kafka frame within the stack depth)');
    add(threads, threadGroup(/sampledThread = "(.*?)"/.exec(event)?.[1] ?? '?'));
  }
  const rank = (map: Map<string, number>) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, n]) => ({ name, percent: (n / Math.max(1, samples)) * 100 }));
  return { samples, byPackage: rank(packages), byKafkaMethod: rank(kafkaMethods), byThread: rank(threads) };
}

/** The execution samples of a recording, as `jfr print` writes them (30 frames deep, enough to reach Kafka's code). */
export async function printExecutionSamples(file: string): Promise<string> {
  const { stdout } = await run('jfr', ['print', '--events', 'jdk.ExecutionSample', '--stack-depth', '30', file], {
    maxBuffer: 1024 * 1024 * 1024,
  });
  return stdout;
}
