import { ActorError } from '../actors/errors.ts';
import type { Problem, ShardReply } from '../actors/bus/index.ts';
import { StoreError } from '../store/errors.ts';
import { ApiError, STATUS_OF_CODE } from './api-error.ts';
import { problemType } from './problem.ts';
import type { ProblemBody } from './schemas/common.ts';

/** Seconds a client should wait before retrying a 503. */
export const RETRY_AFTER_SECONDS = 1;

const UNAVAILABLE_DETAIL = 'a dependency is temporarily unavailable; retry after the delay given';

/**
 * Codes of the layers below that the gateway renames so a client sees one
 * code per situation: a runtime that does not exist in the caller's tenant is
 * `not_found` on every endpoint (GET or action), never a hint it exists elsewhere.
 */
const RENAMED: Readonly<Record<string, string>> = { runtime_not_found: 'not_found' };

/** A node's problem as an ApiError: the status of its code (unknown code → 500 `internal`), Retry-After on 503. */
export function problemToApiError(problem: Problem): ApiError {
  const code = RENAMED[problem.code] ?? problem.code;
  const status = STATUS_OF_CODE[code];
  if (status === undefined) return new ApiError(500, 'internal', 'internal error');
  if (status >= 500 && status !== 503) return new ApiError(status, code, 'internal error');
  // A 503's message comes from a driver (a host, a DSN, a column name): it stays in the node's logs.
  if (status === 503) return new ApiError(status, code, UNAVAILABLE_DETAIL, [], RETRY_AFTER_SECONDS);
  return new ApiError(status, code, problem.message, problem.errors ?? []);
}

/** The state of an ok reply, or the reply's problem thrown as an ApiError. */
export function stateOf(reply: ShardReply): Extract<ShardReply, { ok: true }> {
  if (!reply.ok) throw problemToApiError(reply.problem);
  return reply;
}

/**
 * Failures thrown below the handlers, as ApiErrors: the store or the shard
 * unreachable → 503 with Retry-After; anything else is left to the app's
 * error handler (500 `internal`).
 */
export function toApiError(err: unknown): unknown {
  if (err instanceof ApiError) return err;
  if (err instanceof StoreError && err.code === 'store_unavailable') {
    return new ApiError(503, 'store_unavailable', 'the store is unavailable; retry', [], RETRY_AFTER_SECONDS);
  }
  if (err instanceof ActorError && err.retryable) {
    const seconds = Math.max(1, Math.ceil((err.retryAfterMs ?? 1000) / 1000));
    return new ApiError(503, 'shard_unavailable', "the runtime's shard is unavailable; retry", [], seconds);
  }
  return err;
}

/** Runs a store or router call, mapping its failures with {@link toApiError}. */
export async function below<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (err) {
    throw toApiError(err);
  }
}

const TITLES: Readonly<Record<number, string>> = {
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Content Too Large',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** The problem+json body of an ApiError (also each failed item of a batch). */
export function problemBody(err: ApiError): ProblemBody {
  const body: ProblemBody = {
    type: problemType(err.code),
    title: TITLES[err.status] ?? 'Error',
    status: err.status,
    detail: err.message,
    code: err.code,
  };
  if (err.errors.length > 0) body.errors = err.errors.map((e) => ({ path: e.path, message: e.message }));
  return body;
}
