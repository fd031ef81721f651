import type { EachMessagePayload } from 'kafkajs';
import { ATTR_MESSAGING_CONSUMER_GROUP_NAME, ATTR_MESSAGING_DESTINATION_PARTITION_ID } from '../telemetry/semconv.ts';

/**
 * What every CONSUMER span of the project records besides the messaging attributes: partition, consumer group,
 * and how long the message waited in Kafka (`ituna.queue.wait_ms`: consumer start − message timestamp).
 */
export function consumerSpanAttributes(
  { partition, message }: Pick<EachMessagePayload, 'partition' | 'message'>,
  groupId: string,
) {
  return {
    [ATTR_MESSAGING_DESTINATION_PARTITION_ID]: String(partition),
    [ATTR_MESSAGING_CONSUMER_GROUP_NAME]: groupId,
    'ituna.queue.wait_ms': Math.max(0, Date.now() - Number(message.timestamp)),
  };
}
