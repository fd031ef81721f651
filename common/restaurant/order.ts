import Type from 'typebox';
import type { Static } from 'typebox';

/** How an order reached the restaurant. */
export const CHANNELS = ['online', 'onsite', 'direct'] as const;
export type Channel = (typeof CHANNELS)[number];

/** Where an order stands; each status moves only forward (`STATUS_RANK`), and `rejected`/`ready` end it. */
export const ORDER_STATUSES = ['accepted', 'validated', 'rejected', 'cooking', 'ready'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];
export const STATUS_RANK: Record<OrderStatus, number> = {
  accepted: 0,
  validated: 1,
  rejected: 1,
  cooking: 2,
  ready: 3,
};

/** The three checks an online or on-site order passes before it reaches the kitchen. */
const CHECKS = ['address', 'name', 'inventory'] as const;
export type CheckName = (typeof CHECKS)[number];

// Control characters (Unicode's Cc: C0, DEL and C1) never belong in a name or an address; every printable script
// may. Written as a plain range, not \p{Cc}: not every JSON Schema tool (e.g. test generators) knows property escapes.
const PRINTABLE = '^[^\\u0000-\\u001f\\u007f-\\u009f]*$';

export const OrderId = Type.String({ format: 'uuid', description: 'Order id assigned by the gateway' });

export const OrderItem = Type.Object(
  {
    menuItemId: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,39}$', description: 'Dish id from GET /menu' }),
    quantity: Type.Integer({ minimum: 1, maximum: 20 }),
  },
  { additionalProperties: false },
);
export type OrderItem = Static<typeof OrderItem>;

export const OrderItems = Type.Array(OrderItem, { minItems: 1, maxItems: 20 });

export const CustomerName = Type.String({ minLength: 1, maxLength: 80, pattern: PRINTABLE });

export const DeliveryAddress = Type.Object(
  {
    street: Type.String({ minLength: 1, maxLength: 120, pattern: PRINTABLE }),
    city: Type.String({ minLength: 1, maxLength: 60, pattern: PRINTABLE }),
    zip: Type.String({ minLength: 1, maxLength: 10, pattern: PRINTABLE }),
  },
  { additionalProperties: false },
);
export type DeliveryAddress = Static<typeof DeliveryAddress>;

export const TableNumber = Type.Integer({ minimum: 1, maximum: 40, description: 'Table in the restaurant (1–40)' });

/** A check's finding that made validation reject an order. */
export const RejectionReason = Type.Object(
  { check: Type.Enum(CHECKS), message: Type.String() },
  { additionalProperties: false },
);
export type RejectionReason = Static<typeof RejectionReason>;
