import { createHash } from 'node:crypto';
import Type from 'typebox';

/** How long a key's first answer is kept: a repeat within it gets that answer, one after it a 422. */
export const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;

/** The `Idempotency-Key` request header of the order routes. */
export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 255,
      pattern: '^[\\u0021-\\u007e]+$',
      description:
        "Any unique string of up to 255 printable ASCII characters (a UUID per order is ideal). Sent again by the same client (IP address; behind a proxy, see ITUNA_TRUST_PROXY) on the same route, it returns the first answer, with `Idempotent-Replayed: true`, and places nothing new — also after a 503 whose order reached Kafka anyway, and whichever gateway replica the requests reach. While the first request is still being placed, another with the key waits for it, or answers 409 with Retry-After. The same key with another body answers 422. A key is known for 24 h (ITUNA_HISTORY_WINDOW) as long as its order is in the gateway's view of orders.status: the newest 100 000 orders, also after a restart; past that, it is a new key.",
    }),
  ),
});

// A fixed namespace for this API's order ids (RFC 9562 name-based ids need one; any constant UUID will do).
const NAMESPACE = Buffer.from('6f1c9a52f0d34e8c9a3b2d7e5c4b1a09', 'hex');

/**
 * The order id a keyed request gets: a UUIDv5 of route, client and key. Every gateway replica, before or after a
 * restart, derives the same id, so a repeated key names the order Kafka already has instead of a new one.
 */
export function idempotentOrderId(channel: string, client: string, key: string): string {
  const bytes = createHash('sha1').update(NAMESPACE).update(`${channel}\n${client}\n${key}`).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** JSON with object keys sorted, so two bodies that differ only in key order hash alike. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The SHA-256 of a request body, kept on the order's `accepted` status to tell a repeat from a reused key. */
export function requestHashOf(body: unknown): string {
  return createHash('sha256').update(canonicalJson(body)).digest('hex');
}
