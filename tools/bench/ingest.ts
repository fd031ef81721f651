import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { percentile } from '../traces/percentiles.ts';
import { makeTraceExports } from './otlp-exports.ts';
import type { TraceExport } from './otlp-exports.ts';

/** Spans per second of each round, and the store's CPU time per 1000 spans. */
export interface IngestFigures {
  spansPerSecond: number[];
  cpuMsPer1000Spans: number[];
}

/** Median, lowest and highest of some figures, as `median (min–max)` with no decimals. */
export function spread(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const round = (n: number) => Math.round(n).toLocaleString('en-US').replaceAll(',', ' ');
  return `${round(percentile(sorted, 50))} (${round(sorted[0] ?? 0)}–${round(sorted.at(-1) ?? 0)})`;
}

const CONCURRENT_EXPORTS = 4;
// Exports posted before the clock starts, so the figures are of a store that has run a while (its code optimised).
const WARM_UP_EXPORTS = 10;

async function cpuSeconds(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Posts `exports` in one encoding to a fresh store process, four at a time as four exporting processes would. */
async function round(
  warmUp: TraceExport[],
  exports: TraceExport[],
  encoding: 'protobuf' | 'json',
): Promise<{ spansPerSecond: number; cpuMsPer1000Spans: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'ituna-ingest-'));
  const child = spawn(
    process.execPath,
    [...(process.env.ITUNA_BENCH_STORE_FLAGS?.split(' ').filter(Boolean) ?? []), 'tools/bench/store-server.ts', dir],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    const url = await new Promise<string>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`the store exited (${code}) before listening`)));
      createInterface({ input: child.stdout! }).on(
        'line',
        (line) => line.includes('listening') && resolve(line.split(' ').at(-1)!),
      );
    });
    const contentType = encoding === 'protobuf' ? 'application/x-protobuf' : 'application/json';
    const post = async (list: TraceExport[]) => {
      let next = 0;
      await Promise.all(
        Array.from({ length: CONCURRENT_EXPORTS }, async () => {
          while (next < list.length) {
            const response = await fetch(`${url}/v1/traces`, {
              method: 'POST',
              headers: { 'content-type': contentType },
              body: list[next++]![encoding],
            });
            await response.arrayBuffer();
            if (response.status !== 200)
              throw new Error(`the store answered ${response.status} to a valid ${encoding} export`);
          }
        }),
      );
    };
    await post(warmUp);
    const cpuBefore = await cpuSeconds(child.pid!);
    const started = performance.now();
    await post(exports);
    const seconds = (performance.now() - started) / 1000;
    const cpu = (await cpuSeconds(child.pid!)) - cpuBefore;
    const spans = exports.reduce((sum, e) => sum + e.spans, 0);
    return { spansPerSecond: spans / seconds, cpuMsPer1000Spans: (cpu * 1000 * 1000) / spans };
  } finally {
    child.kill('SIGTERM');
    if (child.exitCode === null) await once(child, 'exit');
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The trace store's OTLP intake: `rounds` rounds of `exportsPerRound` SDK-made exports of 512 spans, each posted
 * as protobuf to one fresh store process and as JSON to another, each process with its own file, as it runs.
 */
export async function measureIngest(
  rounds: number,
  exportsPerRound: number,
): Promise<Record<'protobuf' | 'json', IngestFigures>> {
  const figures = {
    protobuf: { spansPerSecond: [], cpuMsPer1000Spans: [] },
    json: { spansPerSecond: [], cpuMsPer1000Spans: [] },
  } as Record<'protobuf' | 'json', IngestFigures>;
  for (let i = 0; i < rounds; i++) {
    const [warmUp, exports] = [makeTraceExports(WARM_UP_EXPORTS), makeTraceExports(exportsPerRound)];
    // Alternate which encoding goes first, so neither always gets the quieter machine.
    for (const encoding of i % 2 === 0 ? (['protobuf', 'json'] as const) : (['json', 'protobuf'] as const)) {
      const result = await round(warmUp, exports, encoding);
      figures[encoding].spansPerSecond.push(result.spansPerSecond);
      figures[encoding].cpuMsPer1000Spans.push(result.cpuMsPer1000Spans);
    }
  }
  return figures;
}

/** Starts a store process of its own (its file in a temporary folder); resolves with its OTLP and query URLs. */
async function storeProcess(env: Record<string, string>) {
  const dir = await mkdtemp(join(tmpdir(), 'ituna-ingest-'));
  const child = spawn(process.execPath, ['tools/bench/store-server.ts', dir], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
  const urls = await new Promise<{ otlp: string; query: string }>((resolve, reject) => {
    let query = '';
    child.once('exit', (code) => reject(new Error(`the store exited (${code}) before listening`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.includes('queries at')) query = line.split(' ').at(-1)!;
      if (line.includes('listening')) resolve({ otlp: line.split(' ').at(-1)!, query });
    });
  });
  return {
    ...urls,
    pid: child.pid!,
    async stop() {
      child.kill('SIGTERM');
      if (child.exitCode === null) await once(child, 'exit');
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * What the live monitor costs the store: two store processes, with and without it, each fed `rate` spans/s of
 * protobuf exports for `seconds`, the one with it watched by a /monitor/events client; their CPU in each round.
 */
export async function measureMonitorCost(
  rounds: number,
  seconds: number,
  rate = 10_000,
): Promise<{ withMonitor: number[]; without: number[] }> {
  const perSecond = Math.max(1, Math.round(rate / 512));
  const exports = makeTraceExports(perSecond * seconds + WARM_UP_EXPORTS);
  const figures = { withMonitor: [] as number[], without: [] as number[] };
  for (let i = 0; i < rounds; i++) {
    for (const monitor of i % 2 === 0 ? [true, false] : [false, true]) {
      const store = await storeProcess({ ITUNA_BENCH_MONITOR: monitor ? 'on' : 'off' });
      const watcher = new AbortController();
      try {
        if (monitor) {
          const events = await fetch(`${store.query}/monitor/events`, { signal: watcher.signal });
          void events.body?.pipeTo(new WritableStream()).catch(() => {});
        }
        const post = (e: TraceExport) =>
          fetch(`${store.otlp}/v1/traces`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-protobuf' },
            body: e.protobuf,
          }).then((r) => r.arrayBuffer());
        for (const e of exports.slice(0, WARM_UP_EXPORTS)) await post(e);
        const before = await cpuSeconds(store.pid);
        const started = performance.now();
        // Paced: each second's exports go out at its start, as four exporting processes would send them.
        for (let second = 0; second < seconds; second++) {
          const batch = exports.slice(WARM_UP_EXPORTS + second * perSecond, WARM_UP_EXPORTS + (second + 1) * perSecond);
          await Promise.all(batch.map(post));
          const wait = started + (second + 1) * 1000 - performance.now();
          if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        }
        const cpu = (await cpuSeconds(store.pid)) - before;
        (monitor ? figures.withMonitor : figures.without).push(cpu / ((performance.now() - started) / 1000));
      } finally {
        watcher.abort();
        await store.stop();
      }
    }
  }
  return figures;
}
