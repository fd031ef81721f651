import { ROOT_CONTEXT, SpanKind, propagation, trace } from '@opentelemetry/api';
import type { Context, Span, TextMapGetter, Tracer } from '@opentelemetry/api';
import type { IHeaders, KafkaMessage } from 'kafkajs';
import {
  ATTR_MESSAGING_CONSUMER_GROUP_NAME,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_DESTINATION_PARTITION_ID,
  ATTR_MESSAGING_KAFKA_MESSAGE_KEY,
  ATTR_MESSAGING_KAFKA_OFFSET,
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
  MESSAGING_SYSTEM_VALUE_KAFKA,
} from '../telemetry/semconv.ts';

/** Reads W3C headers from a Kafka message, whose values are bytes (the producer wrote them lower-case). */
const headerGetter: TextMapGetter<IHeaders> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const value = carrier[key];
    return Array.isArray(value) ? value.map(String) : value?.toString();
  },
};

/**
 * The context the message's producer injected into its headers (`traceparent`, `tracestate`, `baggage`): the root
 * context, with nothing in it, when the message carries none. The propagators trust it, as they do not trust an
 * HTTP caller's headers at a public edge: only the project's own services write these topics.
 */
export function producerContextOf(message: KafkaMessage): Context {
  return propagation.extract(ROOT_CONTEXT, message.headers ?? {}, headerGetter);
}

/**
 * Starts the `process <topic>` CONSUMER span of one message, as OpenTelemetry's messaging conventions describe it:
 * a child of the producer span whose context `parent` holds (see `producerContextOf`) and linked to it too, so a tool
 * that follows links finds the producer even where a trace is split. Besides the messaging attributes, it records
 * the consumer group and how long the message waited in Kafka (`ituna.queue.wait_ms`: now − the message's timestamp).
 */
export function startConsumerSpan(
  tracer: Tracer,
  { topic, partition, message, groupId }: { topic: string; partition: number; message: KafkaMessage; groupId: string },
  parent: Context,
): Span {
  const producer = trace.getSpanContext(parent);
  return tracer.startSpan(
    `process ${topic}`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        [ATTR_MESSAGING_SYSTEM]: MESSAGING_SYSTEM_VALUE_KAFKA,
        [ATTR_MESSAGING_DESTINATION_NAME]: topic,
        [ATTR_MESSAGING_OPERATION_TYPE]: 'process',
        [ATTR_MESSAGING_OPERATION_NAME]: 'process',
        ...(message.key ? { [ATTR_MESSAGING_KAFKA_MESSAGE_KEY]: message.key.toString() } : {}),
        [ATTR_MESSAGING_KAFKA_OFFSET]: Number(message.offset),
        [ATTR_MESSAGING_DESTINATION_PARTITION_ID]: String(partition),
        [ATTR_MESSAGING_CONSUMER_GROUP_NAME]: groupId,
        'ituna.queue.wait_ms': Math.max(0, Date.now() - Number(message.timestamp)),
      },
      ...(producer ? { links: [{ context: producer }] } : {}),
    },
    parent,
  );
}
