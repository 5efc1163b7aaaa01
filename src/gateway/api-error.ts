/** One field problem of a 4xx (docs/api.md#errors: `errors: [{path, message}]`). */
export interface FieldError {
  path: string;
  message: string;
}

/**
 * An error the gateway answers as `application/problem+json` (RFC 9457) with a
 * stable `code`. Thrown anywhere in a handler; mapped to a response in one
 * place (the app's onError). `detail` says what to do; never a stack trace.
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    readonly status: number,
    readonly code: string,
    detail: string,
    readonly errors: readonly FieldError[] = [],
    /** Seconds, for 429 and 503. */
    readonly retryAfter?: number,
  ) {
    super(detail);
  }
}

/** HTTP status of each stable code the layers below report (engine, store, actors). */
export const STATUS_OF_CODE: Readonly<Record<string, number>> = {
  validation_failed: 422,
  invalid_command: 422,
  condition_error: 422,
  action_not_allowed: 422,
  fields_not_editable: 422,
  next_assignee_required: 422,
  app_not_configured: 422,
  app_not_applied: 422,
  app_pending: 422,
  workflow_not_published: 422,
  idempotency_key_reused: 422,
  not_assignee: 403,
  forbidden: 403,
  unauthorized: 401,
  not_found: 404,
  runtime_not_found: 404,
  version_conflict: 409,
  document_has_active_runtime: 409,
  runtime_exists: 409,
  conflict: 409,
  payload_too_large: 413,
  rate_limited: 429,
  shard_unavailable: 503,
  shard_moved: 503,
  store_unavailable: 503,
  bus_unavailable: 503,
  internal: 500,
};
