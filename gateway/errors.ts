import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import Type from 'typebox';

/** Stable error codes of the HTTP API. */
const ERROR_CODES = [
  'invalid_request',
  'unsupported_media_type',
  'payload_too_large',
  'not_found',
  'method_not_allowed',
  'idempotency_key_reused',
  'idempotency_key_in_use',
  'rate_limited',
  'unauthorized',
  'forbidden',
  'not_configured',
  'kafka_unavailable',
  'internal_error',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** An error the API answers as it is: a status, a stable code and a message safe to show. */
export class HttpError extends Error {
  readonly statusCode: number;
  readonly code: ErrorCode;
  readonly headers: Record<string, string>;
  constructor(statusCode: number, code: ErrorCode, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'HttpError';
    this.statusCode = statusCode;
    this.code = code;
    this.headers = headers;
  }
}

/** The body of every error response. */
export const ErrorResponse = Type.Object(
  {
    error: Type.Object({
      code: Type.Enum(ERROR_CODES),
      message: Type.String(),
      details: Type.Optional(Type.Array(Type.Object({ field: Type.String(), message: Type.String() }))),
    }),
  },
  { $id: 'ErrorResponse', description: 'What went wrong; `details` name each bad field' },
);

interface AjvIssue {
  instancePath: string;
  message?: string;
  params: Record<string, unknown>;
}

/** `/items/0/quantity` → `items[0].quantity`, with the missing or unknown property appended where ajv names one. */
function fieldOf(issue: AjvIssue, part: string | undefined): string {
  const segments = issue.instancePath.split('/').filter(Boolean);
  const extra = issue.params.missingProperty ?? issue.params.additionalProperty;
  if (typeof extra === 'string') segments.push(extra);
  const path = segments.map((s, i) => (/^\d+$/.test(s) ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
  return path || part || 'body';
}

const FASTIFY_CODES: Record<string, { status: number; code: ErrorCode; message?: string }> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    status: 415,
    code: 'unsupported_media_type',
    message: 'Content-Type must be application/json',
  },
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'payload_too_large' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'invalid_request', message: 'body must be a JSON object' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'invalid_request', message: 'body is not valid JSON' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'invalid_request' },
};

/** Errors the router raises before any route runs (a bad URL, an overlong parameter), in the API's own format. */
export function frameworkErrors(error: FastifyError, _request: unknown, reply: FastifyReply): void {
  const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400;
  void reply.code(status).send({ error: { code: 'invalid_request', message: error.message.slice(0, 200) } });
}

/** A route's path as a pattern matching the paths it serves (`:id` one segment, `*` the rest). */
function pathPattern(url: string): RegExp {
  const source = url
    .split('/')
    .map((segment) =>
      segment.startsWith(':') ? '[^/]+' : segment === '*' ? '.*' : segment.replace(/[.+?^${}()|[\]\\]/g, '\\$&'),
    )
    .join('/');
  return new RegExp(`^${source}$`);
}

/**
 * One error handler for the whole API: 4xx say what was wrong, 5xx say nothing about internals. A known path asked
 * with a method it does not serve answers 405 with `Allow`, not 404: the resource exists.
 */
export function registerErrorHandling(app: FastifyInstance): void {
  // Static paths before parametric ones before wildcards, as the router prefers them: /orders/online is the
  // order route, not an order id.
  const routes: Array<{ pattern: RegExp; method: string; rank: number }> = [];
  const rankOf = (url: string) => (url.includes('*') ? 2 : url.includes(':') ? 1 : 0);
  app.addHook('onRoute', ({ url, method }) => {
    for (const m of [method].flat())
      routes.push({ pattern: pathPattern(url), method: m.toUpperCase(), rank: rankOf(url) });
  });
  /** The methods the most specific routes matching `path` serve, and how specific those are. */
  const allowedOn = (path: string) => {
    const matching = routes.filter((route) => route.pattern.test(path));
    const rank = Math.min(...matching.map((route) => route.rank));
    return {
      rank,
      methods: [...new Set(matching.filter((route) => route.rank === rank).map((route) => route.method))].sort(),
    };
  };
  const methodNotAllowed = (reply: FastifyReply, method: string, path: string, allowed: string[]) =>
    reply
      .code(405)
      .header('allow', allowed.join(', '))
      .send({
        error: {
          code: 'method_not_allowed',
          message: `${method} is not allowed on ${path}; allowed: ${allowed.join(', ')}`,
        },
      });

  // Before the body is parsed or the route's schema checked: GET /orders/online is not an order id that fails
  // validation, and an unknown method with a body is not a content-type problem. Wildcard routes (CORS preflight,
  // Swagger UI's files) serve what they match.
  app.addHook('onRequest', async (request, reply) => {
    const served = request.routeOptions.url;
    if (served !== undefined && rankOf(served) !== 1) return;
    const path = request.url.split('?')[0]!;
    const { rank, methods } = allowedOn(path);
    if (methods.length === 0 || (served !== undefined && rank >= rankOf(served))) return;
    return methodNotAllowed(reply, request.method, path, methods);
  });

  app.setErrorHandler((error: FastifyError | HttpError, request, reply) => {
    if (error instanceof HttpError) {
      return reply
        .code(error.statusCode)
        .headers(error.headers)
        .send({ error: { code: error.code, message: error.message } });
    }
    if (error.validation) {
      const details = (error.validation as AjvIssue[]).map((issue) => ({
        field: fieldOf(issue, error.validationContext),
        message: issue.message ?? 'is invalid',
      }));
      const first = details[0]!;
      return reply
        .code(400)
        .send({ error: { code: 'invalid_request', message: `${first.field} ${first.message}`, details } });
    }
    const known = error.code ? FASTIFY_CODES[error.code] : undefined;
    if (known)
      return reply.code(known.status).send({ error: { code: known.code, message: known.message ?? error.message } });
    if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      return reply.code(error.statusCode).send({ error: { code: 'invalid_request', message: error.message } });
    }
    request.log.error({ err: error }, 'request failed');
    return reply.code(500).send({
      error: {
        code: 'internal_error',
        message: 'Something went wrong on our side; the trace id is in the traceresponse header',
      },
    });
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!;
    const { methods } = allowedOn(path);
    if (methods.length > 0) return methodNotAllowed(reply, request.method, path, methods);
    return reply.code(404).send({ error: { code: 'not_found', message: `no route ${request.method} ${path}` } });
  });
}
