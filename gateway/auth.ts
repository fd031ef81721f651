import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { HttpError } from './errors.ts';

function sameSecret(given: string, expected: string): boolean {
  // Hashing first makes the comparison constant-time whatever the lengths.
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** An onRequest hook letting through only `Authorization: Bearer <token>`: 503 when no token is configured, 401 without one, 403 for a wrong one. */
export function managementOnly(token: string | undefined, what: string) {
  return async (request: FastifyRequest) => {
    if (!token)
      throw new HttpError(503, 'not_configured', `${what} are not configured (ITUNA_MANAGEMENT_TOKEN is unset)`);
    const given = /^Bearer (.+)$/i.exec(request.headers.authorization ?? '')?.[1];
    if (!given)
      throw new HttpError(401, 'unauthorized', 'A management token is required', { 'www-authenticate': 'Bearer' });
    if (!sameSecret(given, token))
      throw new HttpError(403, 'forbidden', `This token may not use ${what.toLowerCase()}`);
  };
}
