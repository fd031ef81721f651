import Type from 'typebox';
import {
  CHANNELS,
  CustomerName,
  DeliveryAddress,
  ORDER_STATUSES,
  OrderId,
  OrderItems,
  RejectionReason,
  TableNumber,
} from '../common/restaurant/order.ts';

const exampleItems = [
  { menuItemId: 'tuna-nigiri', quantity: 2 },
  { menuItemId: 'miso-soup', quantity: 1 },
];

/** The website order shown in the API docs (and posted by the benchmarks and the tests): valid, the kitchen cooks it. */
export const exampleOnlineOrder = {
  customerName: 'Aiko Tanaka',
  deliveryAddress: { street: '12 Fulton Street', city: 'New York', zip: '10038' },
  items: exampleItems,
};

/** The on-site order shown in the API docs. */
export const exampleOnsiteOrder = { table: 7, customerName: 'Kenji Sato', items: exampleItems };

/** The direct order shown in the API docs. */
export const exampleDirectOrder = { items: [{ menuItemId: 'unagi-don', quantity: 1 }] };

export const OnlineOrderRequest = Type.Object(
  { customerName: CustomerName, deliveryAddress: DeliveryAddress, items: OrderItems },
  { additionalProperties: false, examples: [exampleOnlineOrder] },
);

export const OnsiteOrderRequest = Type.Object(
  { table: TableNumber, customerName: CustomerName, items: OrderItems },
  { additionalProperties: false, examples: [exampleOnsiteOrder] },
);

export const DirectOrderRequest = Type.Object(
  { items: OrderItems },
  { additionalProperties: false, examples: [exampleDirectOrder] },
);

export const OrderAccepted = Type.Object({
  orderId: OrderId,
  status: Type.Literal('accepted'),
  traceId: Type.Optional(Type.String({ description: 'The trace of this order (absent when tracing is disabled)' })),
});

export const OrderView = Type.Object({
  orderId: OrderId,
  channel: Type.Enum(CHANNELS),
  status: Type.Enum(ORDER_STATUSES),
  traceId: Type.Optional(Type.String()),
  reasons: Type.Optional(Type.Array(RejectionReason)),
  history: Type.Array(
    Type.Object({
      status: Type.Enum(ORDER_STATUSES),
      at: Type.String({ format: 'date-time' }),
      startedAt: Type.Optional(
        Type.String({
          format: 'date-time',
          description: 'When the station reporting this status took the order from Kafka',
        }),
      ),
    }),
    { description: 'When the order reached each status, oldest first' },
  ),
  timeline: Type.Object(
    {
      totalMs: Type.Number({ description: 'From the accepted order to its last status' }),
      traceUrl: Type.Optional(Type.String({ description: 'The trace in the trace UI (when JAEGER_UI_URL is set)' })),
      stages: Type.Array(
        Type.Object({
          stage: Type.String(),
          kind: Type.Enum(['queue', 'work']),
          start: Type.String({ format: 'date-time' }),
          end: Type.String({ format: 'date-time' }),
          ms: Type.Number(),
        }),
      ),
    },
    { description: 'Where the time went: each wait in Kafka and each station at work' },
  ),
});
