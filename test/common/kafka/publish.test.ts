import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { Producer } from 'kafkajs';
import { PublisherFullError, createPublisher } from '../../../common/kafka/publish.ts';

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
