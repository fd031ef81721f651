import type { Attributes } from '@opentelemetry/api';
import type { Static, TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import './date-time.ts';

/** Why a message could not be read: stable codes, as they appear on dead letters. */
export const DECODE_ERRORS = ['invalid_json', 'schema_mismatch'] as const;

/** A message whose bytes are not a valid value of its topic's contract. */
export class MessageDecodeError extends Error {
  readonly code: (typeof DECODE_ERRORS)[number];
  readonly details: string[];
  constructor(code: (typeof DECODE_ERRORS)[number], message: string, details: string[] = []) {
    super(message);
    this.name = 'MessageDecodeError';
    this.code = code;
    this.details = details;
  }
}

/** A Kafka topic's contract: its name, partitions, the schema of its JSON values and how a value is keyed. */
export interface Topic<S extends TSchema> {
  name: string;
  partitions: number;
  schema: S;
  key(value: Static<S>): string;
  /**
   * For a topic whose messages report on work the trace already shows (orders.status): what the event on the sending
   * span says of each message, told there instead of with a PRODUCER span of its own.
   */
  asEvent?(value: Static<S>): Attributes;
  /** JSON bytes of a value, after checking it against the schema (a producer never sends what a consumer would reject). */
  encode(value: Static<S>): Buffer;
  /** The value in these bytes; throws MessageDecodeError when they are not JSON or not of the schema. */
  decode(bytes: Buffer | null): Static<S>;
}

/** Builds a topic contract whose producer and consumer share one compiled schema. */
export function defineTopic<S extends TSchema>(spec: {
  name: string;
  partitions: number;
  schema: S;
  key: (value: Static<S>) => string;
  asEvent?: (value: Static<S>) => Attributes;
}): Topic<S> {
  const validator = Compile(spec.schema);
  const problems = (value: unknown) =>
    [...validator.Errors(value)].slice(0, 10).map((e) => `${e.instancePath || '/'} ${e.message}`);
  return {
    ...spec,
    encode(value) {
      if (!validator.Check(value)) {
        throw new MessageDecodeError(
          'schema_mismatch',
          `refusing to send a value that breaks the ${spec.name} contract`,
          problems(value),
        );
      }
      return Buffer.from(JSON.stringify(value));
    },
    decode(bytes) {
      let value: unknown;
      try {
        value = JSON.parse(bytes?.toString('utf8') ?? '');
      } catch (error) {
        throw new MessageDecodeError('invalid_json', `not JSON: ${(error as Error).message}`);
      }
      if (!validator.Check(value)) {
        throw new MessageDecodeError('schema_mismatch', `does not match the ${spec.name} contract`, problems(value));
      }
      return value as Static<S>;
    },
  };
}

/** The dead-letter topic of a topic. */
export function deadLetterTopicOf(topic: string): string {
  return `${topic}.dlq`;
}
