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
