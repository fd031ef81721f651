import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { promisify } from 'node:util';
import { requestsBetween } from '../../../tools/bench/kafka-requests.ts';
import type { RequestCounts } from '../../../tools/bench/kafka-requests.ts';
import { testBrokers } from '../../support/broker.ts';

const root = join(import.meta.dirname, '..', '..', '..');

it('When a process runs with the request counter loaded, then it writes each Kafka request its clients made, by API, as it exits', async () => {
  const brokers = await testBrokers();
  const dir = await mkdtemp(join(tmpdir(), 'ituna-kafka-requests-'));
  const file = join(dir, 'requests.json');
  // Two topics created, three messages sent one at a time, the producer and the admin client stopped.
  const script = `
    import { Kafka, logLevel } from 'kafkajs';
    const kafka = new Kafka({ clientId: 'counted', brokers: ['${brokers}'], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    const topic = 'counted-' + Date.now();
    await admin.createTopics({ topics: [{ topic }, { topic: topic + '-2' }], waitForLeaders: true });
    const producer = kafka.producer();
    await producer.connect();
    for (let i = 0; i < 3; i++) await producer.send({ topic, messages: [{ value: String(i) }] });
    await producer.disconnect();
    await admin.disconnect();`;
  try {
    const from = Date.now();
    await promisify(execFile)(
      process.execPath,
      ['--import', './tools/bench/kafka-requests.ts', '--input-type=module', '-e', script],
      { cwd: root, env: { ...process.env, ITUNA_BENCH_KAFKA_REQUESTS: file }, timeout: 60_000 },
    );
    const counts = JSON.parse(await readFile(file, 'utf8')) as RequestCounts;
    const requests = requestsBetween(counts, from, Date.now());
    assert.equal(requests.get('Produce'), 3);
    assert.equal(requests.get('CreateTopics'), 1);
    assert.ok((requests.get('Metadata') ?? 0) >= 1);
    assert.ok((requests.get('ApiVersions') ?? 0) >= 2, 'each connection asks for the API versions first');
    // Nothing is counted outside the seconds asked for.
    assert.equal(requestsBetween(counts, from - 10_000, from - 1001).size, 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

it('When requests are counted by the second, then a window takes every second it overlaps', () => {
  const counts: RequestCounts = { 100: { Fetch: 2 }, 101: { Fetch: 1, Produce: 4 }, 103: { Produce: 1 } };
  assert.deepEqual(
    requestsBetween(counts, 100_500, 101_200),
    new Map([
      ['Fetch', 3],
      ['Produce', 4],
    ]),
  );
  assert.deepEqual(
    requestsBetween(counts, 101_000, 102_999),
    new Map([
      ['Fetch', 1],
      ['Produce', 4],
    ]),
  );
  assert.deepEqual(requestsBetween(counts, 102_000, 102_999), new Map());
});
