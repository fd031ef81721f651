import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { ORDER_BODY } from './intake.ts';

const run = promisify(execFile);

/** About what one order's message takes on the wire: the benchmarks' order, with key, headers and a record's own fields. */
export const ORDER_RECORD_BYTES = ORDER_BODY.length + 150;
const toolsDir = join(import.meta.dirname, '..', 'local-kafka', 'perf-tools');
const cache = join(import.meta.dirname, '..', '..', '.cache', 'kafka-tools');

/** Kafka's own perf tools on the classpath (fetched with Maven the first time). */
async function classpath(): Promise<string> {
  const lib = join(cache, 'lib');
  if (!existsSync(lib)) {
    await mkdir(cache, { recursive: true });
    const staging = await mkdtemp(join(cache, 'download-'));
    await run('mvn', [
      '-B',
      '-q',
      '-f',
      join(toolsDir, 'pom.xml'),
      'dependency:copy-dependencies',
      '-DincludeScope=runtime',
      `-DoutputDirectory=${staging}`,
    ]);
    await rename(staging, lib).catch(() => rm(staging, { recursive: true, force: true }));
  }
  return join(lib, '*');
}

const java = async (main: string, args: string[]) =>
  (
    await run(
      'java',
      [
        '-Xmx512m',
        `-Dlog4j2.configurationFile=${join(import.meta.dirname, '..', 'local-kafka', 'log4j2.properties')}`,
        '-cp',
        await classpath(),
        main,
        ...args,
      ],
      { maxBuffer: 16 * 1024 * 1024 },
    )
  ).stdout;

/** ProducerPerformance: records/s the broker takes from Kafka's own Java producer, acks=all. */
export async function producerPerformance(
  brokers: string,
  topic: string,
  records: number,
  recordSize: number,
): Promise<{ recordsPerSec: number; p99Ms: number }> {
  const out = await java('org.apache.kafka.tools.ProducerPerformance', [
    '--topic',
    topic,
    '--num-records',
    String(records),
    '--record-size',
    String(recordSize),
    '--throughput',
    '-1',
    '--producer-props',
    `bootstrap.servers=${brokers}`,
    'acks=all',
    'linger.ms=5',
  ]);
  const last = out.trim().split('\n').at(-1) ?? '';
  const match = /([\d.]+) records\/sec.*?([\d.]+) ms 99th/.exec(last);
  if (!match) throw new Error(`unexpected ProducerPerformance output: ${last}`);
  return { recordsPerSec: Number(match[1]), p99Ms: Number(match[2]) };
}

/** EndToEndLatency: produce→consume latency of one message at a time through the broker, acks=all. */
async function endToEndLatency(
  brokers: string,
  topic: string,
  messages: number,
  size: number,
): Promise<{ p50Ms: number; p99Ms: number }> {
  const out = await java('org.apache.kafka.tools.EndToEndLatency', [
    brokers,
    topic,
    String(messages),
    'all',
    String(size),
  ]);
  const match = /50th = ([\d.]+), 99th = ([\d.]+)/.exec(out);
  if (!match) throw new Error(`unexpected EndToEndLatency output: ${out.slice(-400)}`);
  return { p50Ms: Number(match[1]), p99Ms: Number(match[2]) };
}

/**
 * Kafka's own produce→consume latency for the three hops an order makes (the gateway to validation, validation to the
 * kitchen, the kitchen to `ready`): EndToEndLatency of `messages` order-sized messages, × 3.
 */
export async function orderHopsLatency(brokers: string, messages: number): Promise<{ p50Ms: number; p99Ms: number }> {
  const hop = await endToEndLatency(brokers, 'bench.end-to-end-latency', messages, ORDER_RECORD_BYTES);
  return { p50Ms: hop.p50Ms * 3, p99Ms: hop.p99Ms * 3 };
}
