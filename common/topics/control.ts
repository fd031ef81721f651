import Type from 'typebox';
import type { Static } from 'typebox';
import { defineTopic } from './topic.ts';

export const ControlChange = Type.Object(
  {
    /** ITUNA_DELAYS syntax; the stages named replace the running ones. */
    delays: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    kitchenChefs: Type.Optional(Type.Integer({ minimum: 1, maximum: 64 })),
    at: Type.String({ format: 'date-time' }),
  },
  { additionalProperties: false },
);
export type ControlChange = Static<typeof ControlChange>;

/** Settings changed while the pipeline runs; every worker follows it from the moment it starts. */
export const controlTopic = defineTopic({
  name: 'ituna.control',
  partitions: 1,
  schema: ControlChange,
  key: () => 'settings',
});
