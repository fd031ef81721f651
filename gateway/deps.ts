import type { FastifyBaseLogger } from 'fastify';
import type { Publish } from '../common/kafka/publish.ts';
import type { OrderHistory } from './order-history.ts';

/** What the gateway needs from outside: a way to publish (acknowledged by Kafka), the order history, readiness. */
export interface GatewayDeps {
  publish: Publish;
  orders: OrderHistory;
  isReady(): boolean;
  /** The management token for direct orders and settings (ITUNA_MANAGEMENT_TOKEN); absent: those routes answer 503. */
  managementToken?: string;
  /** Base URL of the trace UI, for links to an order's trace (JAEGER_UI_URL). */
  traceUiUrl?: string;
  /** Orders one client (by IP) may place per minute; 0 or absent: no limit. */
  ordersPerMinute?: number;
  /** Origins allowed to call the API from a browser; absent: CORS stays off. */
  corsOrigins?: string[];
  logger?: FastifyBaseLogger;
}
