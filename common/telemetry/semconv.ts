// The OpenTelemetry semantic conventions this project records. Stable names come from the conventions package;
// messaging is still incubating there, and its README advises copying incubating names rather than importing them
// (they may change in any release): these are copied from semantic-conventions 1.45's incubating entry point.
export { ATTR_ERROR_TYPE, ATTR_SERVER_ADDRESS, ATTR_SERVER_PORT } from '@opentelemetry/semantic-conventions';

/** `messaging.system` */
export const ATTR_MESSAGING_SYSTEM = 'messaging.system' as const;
/** `messaging.destination.name` */
export const ATTR_MESSAGING_DESTINATION_NAME = 'messaging.destination.name' as const;
/** `messaging.destination.partition.id` */
export const ATTR_MESSAGING_DESTINATION_PARTITION_ID = 'messaging.destination.partition.id' as const;
/** `messaging.operation.type` */
export const ATTR_MESSAGING_OPERATION_TYPE = 'messaging.operation.type' as const;
/** `messaging.operation.name` */
export const ATTR_MESSAGING_OPERATION_NAME = 'messaging.operation.name' as const;
/** `messaging.consumer.group.name` */
export const ATTR_MESSAGING_CONSUMER_GROUP_NAME = 'messaging.consumer.group.name' as const;
/** `messaging.kafka.message.key` */
export const ATTR_MESSAGING_KAFKA_MESSAGE_KEY = 'messaging.kafka.message.key' as const;
/** `messaging.kafka.offset` (an integer) */
export const ATTR_MESSAGING_KAFKA_OFFSET = 'messaging.kafka.offset' as const;
/** The value of `messaging.system` for Kafka. */
export const MESSAGING_SYSTEM_VALUE_KAFKA = 'kafka' as const;
