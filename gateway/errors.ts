import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import Type from 'typebox';

/** Stable error codes of the HTTP API. */
export const ERROR_CODES = [
  'invalid_request',
  'unsupported_media_type',
  'payload_too_large',
  'not_found',
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
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'unsupported_media_type', message: 'Content-Type must be application/json' },
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

/** One error handler for the whole API: 4xx say what was wrong, 5xx say nothing about internals. */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | HttpError, request, reply) => {
    if (error instanceof HttpError) {
      return reply.code(error.statusCode).headers(error.headers).send({ error: { code: error.code, message: error.message } });
    }
    if (error.validation) {
      const details = (error.validation as AjvIssue[]).map((issue) => ({
        field: fieldOf(issue, error.validationContext),
        message: issue.message ?? 'is invalid',
      }));
      const first = details[0]!;
      return reply.code(400).send({ error: { code: 'invalid_request', message: `${first.field} ${first.message}`, details } });
    }
    const known = error.code ? FASTIFY_CODES[error.code] : undefined;
    if (known) return reply.code(known.status).send({ error: { code: known.code, message: known.message ?? error.message } });
    if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      return reply.code(error.statusCode).send({ error: { code: 'invalid_request', message: error.message } });
    }
    request.log.error({ err: error }, 'request failed');
    return reply.code(500).send({ error: { code: 'internal_error', message: 'Something went wrong on our side; the trace id is in the traceresponse header' } });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: { code: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` } }),
  );
}
