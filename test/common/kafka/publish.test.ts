import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { Message, Producer } from 'kafkajs';
import { MAX_REQUEST_BYTES, PublisherFullError, createPublisher } from '../../../common/kafka/publish.ts';

// A broker that never answers, as in a brownout: the fault is injected at the producer, the queue is the real one.
const stuck = { sendBatch: () => new Promise(() => {}) } as unknown as Producer;
const message = (i: number) => ({ topic: 'orders.placed', message: { key: `k${i}`, value: 'v', partition: 0 } });

it('When Kafka does not answer, then the publisher holds at most its bound and refuses the next send at once', async () => {
  const publish = createPublisher(stuck, 'batched', { maxQueued: 10 });
  // The first send is in flight; the next ten wait for it and fill the queue.
  void publish([message(0)]);
  for (let i = 1; i <= 10; i++) void publish([message(i)]);
  await assert.rejects(publish([message(11)]), PublisherFullError);
  await assert.rejects(publish([message(12), message(13)]), /already holds 10 messages/);
});

it('When more is queued than one produce request may carry, then the publisher sends it in several requests within the bound, in order', async () => {
  const requests: Array<{ bytes: number; keys: string[] }> = [];
  let release!: () => void;
  const firstAnswered = new Promise<void>((resolve) => (release = resolve));
  const recording = {
    sendBatch: async ({ topicMessages }: { topicMessages: Array<{ topic: string; messages: Message[] }> }) => {
      const messages = topicMessages.flatMap((t) => t.messages);
      requests.push({
        bytes: messages.reduce((sum, m) => sum + String(m.value).length, 0),
        keys: messages.map((m) => String(m.key)),
      });
      if (requests.length === 1) await firstAnswered;
      return [{ topicName: 'orders.placed', partition: 0, baseOffset: String(requests.length * 100), errorCode: 0 }];
    },
  } as unknown as Producer;
  const publish = createPublisher(recording, 'batched');
  const big = (i: number) => ({
    topic: 'orders.placed',
    message: { key: `k${i}`, value: 'x'.repeat(200_000), partition: 0 },
  });
  // One send in flight, eight of 200 KB waiting behind it: 1.6 MB, more than a partition's record batch may hold.
  const sent = [publish([big(0)]), ...Array.from({ length: 8 }, (_, i) => publish([big(i + 1)]))];
  release();
  await Promise.all(sent);
  assert.ok(requests.length >= 4, `${requests.length} requests`);
  for (const { bytes } of requests) assert.ok(bytes <= MAX_REQUEST_BYTES, `a request of ${bytes} bytes`);
  assert.deepEqual(
    requests.flatMap((r) => r.keys),
    Array.from({ length: 9 }, (_, i) => `k${i}`),
  );
});

it('When sends come a few milliseconds apart to an idle publisher, then they wait out its linger and share one produce request', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const requests: string[][] = [];
  const recording = {
    sendBatch: async ({ topicMessages }: { topicMessages: Array<{ topic: string; messages: Message[] }> }) => {
      const keys = topicMessages.flatMap((t) => t.messages).map((m) => String(m.key));
      requests.push(keys);
      return [{ topicName: 'orders.placed', partition: 0, baseOffset: '0', errorCode: 0 }];
    },
  } as unknown as Producer;
  const lingering = createPublisher(recording, 'batched', { lingerMs: 5 });
  const first = lingering([message(0)]);
  t.mock.timers.tick(3);
  const second = lingering([message(1)]);
  await Promise.resolve();
  assert.deepEqual(requests, [], 'nothing is sent within the linger');
  t.mock.timers.tick(2);
  await Promise.all([first, second]);
  assert.deepEqual(requests, [['k0', 'k1']]);

  // Without a linger, the first send goes at once, alone.
  const atOnce = createPublisher(recording, 'batched');
  const third = atOnce([message(2)]);
  assert.deepEqual(requests.at(-1), ['k2']);
  await third;
});

it("When one send carries several topics' messages interleaved, then each topic goes once in the request, its messages in order, and each message gets its own offset", async () => {
  const requests: Array<Array<{ topic: string; keys: string[] }>> = [];
  const recording = {
    sendBatch: async ({ topicMessages }: { topicMessages: Array<{ topic: string; messages: Message[] }> }) => {
      requests.push(topicMessages.map((t) => ({ topic: t.topic, keys: t.messages.map((m) => String(m.key)) })));
      return [
        { topicName: 'orders.status', partition: 1, baseOffset: '40', errorCode: 0 },
        { topicName: 'kitchen.tickets', partition: 1, baseOffset: '7', errorCode: 0 },
        { topicName: 'orders.status', partition: 2, baseOffset: '90', errorCode: 0 },
      ];
    },
  } as unknown as Producer;
  const sent = (topic: string, key: string, partition: number) => ({ topic, message: { key, value: 'v', partition } });
  const deliveries = await createPublisher(
    recording,
    'batched',
  )([
    sent('orders.status', 's1', 1),
    sent('kitchen.tickets', 't1', 1),
    sent('orders.status', 's2', 2),
    sent('orders.status', 's3', 1),
    sent('kitchen.tickets', 't2', 1),
  ]);
  assert.deepEqual(requests, [
    [
      { topic: 'orders.status', keys: ['s1', 's2', 's3'] },
      { topic: 'kitchen.tickets', keys: ['t1', 't2'] },
    ],
  ]);
  assert.deepEqual(deliveries, [
    { partition: 1, offset: 40 },
    { partition: 1, offset: 7 },
    { partition: 2, offset: 90 },
    { partition: 1, offset: 41 },
    { partition: 1, offset: 8 },
  ]);
});
