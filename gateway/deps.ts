import type { FastifyBaseLogger } from 'fastify';
import type { Publish } from '../common/kafka/publish.ts';
import type { LiveSettings } from './live-settings.ts';
import type { OrderHistory } from './order-history.ts';

/** What the gateway needs from outside: a way to publish (acknowledged by Kafka), the order history, readiness. */
export interface GatewayDeps {
  /** Sends and resolves once Kafka acknowledged; the routes give up waiting after `publishDeadlineMs`. */
  publish: Publish;
  /** How long a caller waits for Kafka's acknowledgement before hearing 503 (default 1000 ms). */
  publishDeadlineMs?: number;
  orders: OrderHistory;
  /**
   * Resolves once `orders` holds every status Kafka had acknowledged when called, so a repeated Idempotency-Key
   * finds an order another replica (or this one, before a restart) placed a moment ago. Absent: `orders` is all there is.
   */
  catchUpOrders?(): Promise<void>;
  /** The live settings, for GET /admin/settings. */
  settings: LiveSettings;
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

/** How long a caller waits for Kafka unless the deps say otherwise. */
export const DEFAULT_PUBLISH_DEADLINE_MS = 1000;
