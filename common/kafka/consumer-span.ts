import type { EachMessagePayload } from 'kafkajs';

/**
 * What every CONSUMER span of the project records besides the messaging attributes: partition, consumer group,
 * and how long the message waited in Kafka (`ituna.queue.wait_ms`: consumer start − message timestamp).
 */
export function consumerSpanAttributes(
  { partition, message }: Pick<EachMessagePayload, 'partition' | 'message'>,
  groupId: string,
) {
  return {
    'messaging.destination.partition.id': String(partition),
    'messaging.consumer.group.name': groupId,
    'ituna.queue.wait_ms': Math.max(0, Date.now() - Number(message.timestamp)),
  };
}
