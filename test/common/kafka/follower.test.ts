import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, it } from 'node:test';
import { parseTraceParent } from '@opentelemetry/core';
import pino from 'pino';
import { createKafka, ensureTopics } from '../../../common/kafka/client.ts';
import { followTopic } from '../../../common/kafka/follower.ts';
import { testBrokers } from '../../support/broker.ts';

// A follower on a topic of the test's own, stopped while a caller waits for it to read further (a worker claiming a
// partition while it stops): the wait must end with the stop, not at its timeout.
const topicName = `test.follower.${randomUUID().slice(0, 8)}`;
let kafka: ReturnType<typeof createKafka>;

before(async () => {
  kafka = createKafka('follower-test', (await testBrokers()).split(','), pino({ level: 'silent' }));
  await ensureTopics(kafka, [{ name: topicName, partitions: 1 }]);
});

it('When a follower stops while a caller waits for it to read further, then the wait fails at once saying so, and so does any later catch-up', async () => {
  const follower = await followTopic(kafka, { name: topicName, decode: (bytes) => bytes }, { onMessage: () => {} });
  await follower.caughtUp;
  // Offset 10 of an empty partition: nothing will come within the 30 s this wait allows.
  const waiting = follower.catchUpTo(0, 10, 30_000).then(
    () => 'read',
    (error: Error) => error.message,
  );
  // The stop itself waits for the fetch in flight and leaves the group: the wait must not wait for that.
  const stopping = follower.stop();
  assert.equal(
    await Promise.race([waiting, stopping.then(() => 'the stop ended first')]),
    `${topicName}: the follower has stopped`,
  );
  await stopping;
  await assert.rejects(follower.catchUp(), { message: `${topicName}: the follower has stopped` });
});

it("When history messages carry traceparent headers, then the follower names each one's trace as OpenTelemetry's parser reads it, and none for a missing, malformed or zero one", async () => {
  const topic = `test.follower.traces.${randomUUID().slice(0, 8)}`;
  await ensureTopics(kafka, [{ name: topic, partitions: 1 }]);
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const spanId = '00f067aa0ba902b7';
  // The form every propagator writes is read in place; every other form goes through OpenTelemetry's parser.
  const sent: Array<[string, Record<string, string | string[]>]> = [
    ['plain', { traceparent: `00-${traceId}-${spanId}-01` }],
    ['unsampled', { traceparent: `00-${traceId}-${spanId}-00` }],
    ['repeated', { traceparent: [`00-${traceId}-${spanId}-01`, '00-ffffffffffffffffffffffffffffffff-1-01'] }],
    ['none', { 'content-type': 'application/json' }],
    ['malformed', { traceparent: `00-${traceId}-${spanId}` }],
    ['zero', { traceparent: `00-${'0'.repeat(32)}-${spanId}-01` }],
    ['zero span', { traceparent: `00-${traceId}-${'0'.repeat(16)}-01` }],
    ['upper case', { traceparent: `00-${traceId.toUpperCase()}-${spanId}-01` }],
    ['bad flags', { traceparent: `00-${traceId}-${spanId}-0g` }],
    ['version ff', { traceparent: `ff-${traceId}-${spanId}-01` }],
    ['version 00 with more', { traceparent: `00-${traceId}-${spanId}-01-more` }],
    ['later version with more', { traceparent: `01-${traceId}-${spanId}-01-more` }],
    ['leading space', { traceparent: ` 00-${traceId}-${spanId}-01` }],
    ['dashes moved', { traceparent: `00-${traceId.slice(1)}-0${spanId}-01` }],
  ];
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: sent.map(([value, headers]) => ({ value, headers })) });
  await producer.disconnect();
  const seen = new Map<string, string | undefined>();
  const follower = await followTopic(
    kafka,
    { name: topic, decode: (bytes) => bytes?.toString() },
    { onMessage: (value, meta) => seen.set(value!, meta.traceId) },
  );
  await follower.caughtUp;
  await follower.stop();
  const first = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);
  const parsed = (headers: Record<string, string | string[]>) =>
    headers.traceparent === undefined ? undefined : parseTraceParent(first(headers.traceparent)!)?.traceId;
  assert.deepEqual(
    Object.fromEntries(seen),
    Object.fromEntries(sent.map(([name, headers]) => [name, parsed(headers)])),
  );
  assert.deepEqual(
    sent.filter(([name]) => seen.get(name) === traceId).map(([name]) => name),
    ['plain', 'unsampled', 'repeated', 'later version with more', 'leading space'],
  );
});
