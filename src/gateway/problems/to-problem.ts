import { HTTPException } from 'hono/http-exception';
import type { Problem } from '../../actors/bus/index.ts';
import { ActorError } from '../../actors/errors.ts';
import { StoreError } from '../../store/errors.ts';
import { ApiError, type FieldError } from '../api-error.ts';
import { codeOfStatus, statusOfCode, titleOf } from './problem-table.ts';

/** What the gateway answers for an error: status, stable code, detail, field errors and Retry-After. */
export interface HttpProblem {
  status: number;
  code: string;
  detail: string;
  errors?: readonly FieldError[];
  /** Seconds to wait before a retry (429, 503). */
  retryAfter?: number;
  /** The error is none the gateway knows: the answer says nothing of it, so the caller must log it. */
  unexpected?: true;
}

/** A node's refusal of a shard request (an `ok: false` reply), thrown so it is mapped like any other error. */
export class ShardProblemError extends Error {
  override readonly name = 'ShardProblemError';

  constructor(readonly problem: Problem) {
    super(problem.message);
  }
}

const UNAVAILABLE_DETAIL = 'a dependency is temporarily unavailable; retry after the delay given';

/** Anything the gateway cannot explain: a 500 that shows nothing of the error; the log line has it. */
export const INTERNAL: HttpProblem = {
  status: 500,
  code: 'internal',
  detail: 'internal error; the request id identifies it in the logs',
  unexpected: true,
};

/** A node's own internal problem: the node logged it, the answer says no more. */
const NODE_INTERNAL: HttpProblem = { status: 500, code: 'internal', detail: 'internal error' };

const MALFORMED_JSON: HttpProblem = {
  status: 400,
  code: 'malformed_json',
  detail: 'the request body is not valid JSON',
};

const STORE_UNAVAILABLE: HttpProblem = {
  status: 503,
  code: 'store_unavailable',
  detail: 'the store is unavailable; retry',
  retryAfter: 1,
};

/**
 * Codes of the nodes that the gateway renames so a client sees one code per
 * situation: a runtime that does not exist in the caller's tenant is
 * `not_found` on every endpoint (GET or action), never a hint it exists elsewhere.
 */
const RENAMED: Readonly<Record<string, string>> = { runtime_not_found: 'not_found' };

/** An error with a stable code of the layers below (EngineError, StoreError, ActorError…), by duck type. */
interface CodedError {
  code: string;
  message: string;
  errors?: unknown;
  retryAfterMs?: unknown;
}

function isCoded(err: unknown): err is CodedError {
  const code: unknown = err instanceof Error ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' && statusOfCode(code) !== undefined;
}

function fieldErrors(value: unknown): FieldError[] {
  if (!Array.isArray(value)) return [];
  return value
    .filter((e): e is FieldError => typeof e?.path === 'string' && typeof e?.message === 'string')
    .map((e) => ({ path: e.path, message: e.message }));
}

/**
 * A stable code's problem: a 4xx keeps the message and field errors (they say
 * what to fix); a 503 says only to retry (its message comes from a driver: a
 * host, a DSN, a column name); anything else is `internal`.
 */
function fromCode(coded: CodedError, internal: HttpProblem): HttpProblem {
  const status = statusOfCode(coded.code);
  if (status === undefined || status === 500) return internal;
  if (status < 500) return { status, code: coded.code, detail: coded.message, errors: fieldErrors(coded.errors) };
  const ms = typeof coded.retryAfterMs === 'number' ? coded.retryAfterMs : 1_000;
  return { status, code: coded.code, detail: UNAVAILABLE_DETAIL, retryAfter: Math.ceil(ms / 1000) };
}

function fromHttpException(err: HTTPException): HttpProblem {
  if (err.status === 400 && /malformed json/i.test(err.message)) return MALFORMED_JSON;
  if (err.status >= 500) return { ...INTERNAL, status: err.status, code: codeOfStatus(err.status) ?? 'internal' };
  return {
    status: err.status,
    code: codeOfStatus(err.status) ?? 'bad_request',
    detail: err.message || titleOf(err.status),
  };
}

function fromApiError(err: ApiError): HttpProblem {
  const p: HttpProblem = { status: err.status, code: err.code, detail: err.message, errors: err.errors };
  if (err.retryAfter !== undefined) p.retryAfter = err.retryAfter;
  return p;
}

/**
 * The one mapping of errors to problems, for the app's error handler and each
 * item of a batch: ApiError as thrown; hono's HTTPException by status; a
 * node's refusal by its code; the store or the shard unreachable → 503 with
 * Retry-After (so handlers call the store and the router without a wrapper);
 * another layer's coded error by its code; anything else → 500 `internal`.
 */
export function toProblem(err: unknown): HttpProblem {
  if (err instanceof ApiError) return fromApiError(err);
  if (err instanceof HTTPException) return fromHttpException(err);
  if (err instanceof ShardProblemError) {
    const { code, message, errors } = err.problem;
    const renamed = Object.hasOwn(RENAMED, code) ? RENAMED[code]! : code;
    return fromCode({ code: renamed, message, errors }, NODE_INTERNAL);
  }
  if (err instanceof StoreError && err.code === 'store_unavailable') return STORE_UNAVAILABLE;
  if (err instanceof ActorError && err.retryable) {
    const seconds = Math.max(1, Math.ceil((err.retryAfterMs ?? 1000) / 1000));
    return {
      status: 503,
      code: 'shard_unavailable',
      detail: "the runtime's shard is unavailable; retry",
      retryAfter: seconds,
    };
  }
  return isCoded(err) ? fromCode(err, INTERNAL) : INTERNAL;
}
