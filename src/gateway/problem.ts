import type { Context, ErrorHandler, NotFoundHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { Hook } from '@hono/zod-openapi';
import type { Logger } from 'pino';
import type { ZodError } from 'zod';
import { ApiError, STATUS_OF_CODE, type FieldError } from './api-error.ts';
import type { GatewayEnv } from './gateway-env.ts';
import { loggableError } from './loggable-error.ts';

/** RFC 9457 body of every gateway error (docs/api.md#errors). */
export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  errors?: FieldError[];
}

const TITLES: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** Stable code of an HTTPException thrown by hono or its middleware, by status. */
const CODE_OF_STATUS: Readonly<Record<number, string>> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  422: 'validation_failed',
  429: 'rate_limited',
  503: 'unavailable',
};

/** `type` URI of a problem: one per stable code. */
export const problemType = (code: string): string => `urn:bflow:problem:${code}`;

/**
 * An `application/problem+json` response: the one shape of every gateway error.
 * `Retry-After` (seconds) when given; `WWW-Authenticate: Bearer` on 401.
 * @example return problem(c, 404, 'not_found', `runtime ${id} not found`);
 */
export function problem(
  c: Context,
  status: number,
  code: string,
  detail: string,
  errors?: readonly FieldError[],
  retryAfter?: number,
): Response {
  const body: ProblemBody = { type: problemType(code), title: TITLES[status] ?? 'Error', status, detail, code };
  if (errors !== undefined && errors.length > 0) body.errors = [...errors];
  const headers: Record<string, string> = { 'Content-Type': 'application/problem+json' };
  if (retryAfter !== undefined) headers['Retry-After'] = String(Math.max(1, Math.ceil(retryAfter)));
  if (status === 401) headers['WWW-Authenticate'] = 'Bearer realm="bflow"';
  return c.body(JSON.stringify(body), status as 400, headers);
}

interface Mapped {
  status: number;
  code: string;
  detail: string;
  errors?: readonly FieldError[];
  retryAfter?: number;
}

const INTERNAL: Mapped = {
  status: 500,
  code: 'internal',
  detail: 'internal error; the request id identifies it in the logs',
};

/** A layer's error with a stable code (EngineError, ActorError, StoreError…), by duck type: the gateway imports no classes. */
interface CodedError {
  code: string;
  message: string;
  errors?: unknown;
  retryAfterMs?: unknown;
}

function isCoded(err: unknown): err is CodedError {
  const code: unknown = err instanceof Error ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' && Object.hasOwn(STATUS_OF_CODE, code);
}

function fieldErrors(value: unknown): FieldError[] {
  if (!Array.isArray(value)) return [];
  return value
    .filter((e): e is FieldError => typeof e?.path === 'string' && typeof e?.message === 'string')
    .map((e) => ({ path: e.path, message: e.message }));
}

/** Maps anything thrown to a problem; only ApiError, HTTPException and coded layer errors say more than "internal". */
export function toProblem(err: unknown): Mapped {
  if (err instanceof ApiError) {
    const m: Mapped = { status: err.status, code: err.code, detail: err.message, errors: err.errors };
    if (err.retryAfter !== undefined) m.retryAfter = err.retryAfter;
    return m;
  }
  if (err instanceof HTTPException) {
    if (err.status === 400 && /malformed json/i.test(err.message))
      return { status: 400, code: 'malformed_json', detail: 'the request body is not valid JSON' };
    const code = CODE_OF_STATUS[err.status] ?? (err.status >= 500 ? 'internal' : 'bad_request');
    const detail = err.status >= 500 ? INTERNAL.detail : err.message || (TITLES[err.status] ?? 'error');
    return { status: err.status, code, detail };
  }
  if (isCoded(err)) {
    const status = STATUS_OF_CODE[err.code] ?? 500;
    if (status < 500) return { status, code: err.code, detail: err.message, errors: fieldErrors(err.errors) };
    if (err.code === 'internal') return INTERNAL;
    const ms = typeof err.retryAfterMs === 'number' ? err.retryAfterMs : 1_000;
    return {
      status,
      code: err.code,
      detail: 'a dependency is temporarily unavailable; retry after the delay given',
      retryAfter: Math.ceil(ms / 1000),
    };
  }
  return INTERNAL;
}

/** Node's error when the client closes the connection before its request body was read (`abortIncoming`). */
function isClientAbort(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  return typeof e === 'object' && e !== null && e.code === 'ECONNRESET' && e.message === 'aborted';
}

const CLIENT_ABORT: Mapped = {
  status: 400,
  code: 'bad_request',
  detail: 'the client closed the connection before the request body was read',
};

/**
 * `app.onError`: the one place errors become responses. A 5xx is logged with
 * the request id, never shown. A client that hangs up mid-body is the
 * client's doing: a 400 (nobody reads it) and a debug line, not a 500 with a
 * stack in the error log for every upload an attacker abandons.
 */
export function errorHandler(fallbackLogger: Logger): ErrorHandler<GatewayEnv> {
  return (err, c) => {
    const logger = c.get('logger') ?? fallbackLogger;
    if (isClientAbort(err)) {
      logger.debug('client closed the connection before the request body was read');
      return problem(c, CLIENT_ABORT.status, CLIENT_ABORT.code, CLIENT_ABORT.detail);
    }
    const mapped = toProblem(err);
    if (mapped.status >= 500)
      logger.error({ err: loggableError(err), requestId: c.get('requestId'), code: mapped.code }, 'request failed');
    return problem(c, mapped.status, mapped.code, mapped.detail, mapped.errors, mapped.retryAfter);
  };
}

/** `app.notFound`: unknown routes answer a 404 problem too. */
export const notFoundHandler: NotFoundHandler<GatewayEnv> = (c) =>
  problem(c, 404, 'not_found', `no route for ${c.req.method} ${new URL(c.req.url).pathname}`);

/** Zod issues as `errors: [{path, message}]` (docs/api.md#errors): body paths bare (`items.0.action`), others prefixed (`query.limit`). */
export function zodFieldErrors(error: ZodError, target: string): FieldError[] {
  return error.issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    const prefix = target === 'json' || target === 'form' ? '' : target;
    return { path: [prefix, path].filter((p) => p !== '').join('.'), message: issue.message };
  });
}

/**
 * `defaultHook` of the OpenAPIHono apps: a failed request validation → 422
 * `validation_failed` with every issue. Sub-apps must pass it too (a hook is per instance).
 */
export const validationHook: Hook<unknown, GatewayEnv, string, unknown> = (result) => {
  if (!result.success) {
    throw new ApiError(
      422,
      'validation_failed',
      `the request ${result.target === 'json' ? 'body' : result.target} is invalid`,
      zodFieldErrors(result.error, result.target),
    );
  }
  return undefined;
};
