import { SpanKind, context, propagation, trace } from '@opentelemetry/api';
import type { Span } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import type { Producer } from 'kafkajs';
import { publish } from './kafka.ts';
import type { Outgoing } from './kafka.ts';
import { oneOf } from './config.ts';
import { recordSpanError } from './telemetry.ts';

const tracer = trace.getTracer('ituna-batching-publisher');

interface Pending {
  messages: Outgoing[];
  spans: Span[];
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * A publisher that sends everything callers handed it while the previous produce request was in flight as one
 * produce request (group commit): with an idempotent producer kafkajs allows one request in flight, so one
 * awaited send per HTTP request makes every order wait for all the ones before it.
 *
 * Batching happens outside the callers' contexts, where the kafkajs instrumentation would start new traces and
 * overwrite the headers. So each message gets its `send <topic>` PRODUCER span here, in its caller's context,
 * with the W3C headers injected from that span; the batch itself is sent with tracing suppressed.
 */
export function createBatchingPublisher(producer: Producer): (messages: Outgoing[]) => Promise<void> {
  let queue: Pending[] = [];
  let inFlight = false;

  const flush = async () => {
    if (inFlight || queue.length === 0) return;
    inFlight = true;
    const batch = queue;
    queue = [];
    const size = batch.reduce((n, p) => n + p.messages.length, 0);
    try {
      await context.with(suppressTracing(context.active()), () =>
        producer.sendBatch({ acks: -1, topicMessages: batch.flatMap((p) => p.messages.map(({ topic, message }) => ({ topic, messages: [message] }))) }),
      );
      for (const pending of batch) {
        pending.spans.forEach((span) => (span.setAttribute('ituna.batch.messages', size), span.end()));
        pending.resolve();
      }
    } catch (error) {
      for (const pending of batch) {
        pending.spans.forEach((span) => (recordSpanError(span, error), span.end()));
        pending.reject(error);
      }
    } finally {
      inFlight = false;
      void flush();
    }
  };

  return (messages) =>
    new Promise<void>((resolve, reject) => {
      const spans = messages.map(({ topic, message }) => {
        const span = tracer.startSpan(`send ${topic}`, {
          kind: SpanKind.PRODUCER,
          attributes: {
            'messaging.system': 'kafka',
            'messaging.destination.name': topic,
            'messaging.operation.type': 'send',
            'messaging.operation.name': 'send',
            'messaging.kafka.message.key': String(message.key),
          },
        });
        message.headers ??= {};
        propagation.inject(trace.setSpan(context.active(), span), message.headers);
        return span;
      });
      queue.push({ messages, spans, resolve, reject });
      void flush();
    });
}

/**
 * ITUNA_KAFKA_SEND: `batched` (the default) sends through the group-commit publisher above; `single` makes one
 * awaited send per call, traced by the kafkajs instrumentation — the code most tutorials write, kept so the
 * benchmark can measure what batching gains.
 */
export const kafkaSendMode = oneOf(['batched', 'single'], 'batched');
export type KafkaSendMode = ReturnType<typeof kafkaSendMode>;

/** The process's way of sending: group commit, or one awaited send per call. */
export function createPublisher(producer: Producer, mode: KafkaSendMode): (messages: Outgoing[]) => Promise<void> {
  return mode === 'batched' ? createBatchingPublisher(producer) : (messages) => publish(producer, messages);
}
