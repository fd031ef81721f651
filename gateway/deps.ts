import type { FastifyBaseLogger } from 'fastify';
import type { Delivery, Publish } from '../common/kafka/publish.ts';
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
   * Resolves once `orders` has read orders.status up to a message this gateway wrote (a key's claim), and so every
   * message before it in that partition, whichever replica wrote it. Absent: this process is the only writer, and
   * `orders` takes its writes as it makes them.
   */
  readBack?(written: Delivery): Promise<void>;
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
  /**
   * Which proxies' X-Forwarded-For to believe (ITUNA_TRUST_PROXY): false, true, a hop count, or their addresses.
   * The client address scopes Idempotency-Keys and the rate limit.
   */
  trustProxy?: boolean | number | string[];
  /** How long a connection may stay idle before it is closed (default 30 s). */
  connectionTimeoutMs?: number;
}

/** How long a caller waits for Kafka unless the deps say otherwise. */
export const DEFAULT_PUBLISH_DEADLINE_MS = 1000;
