/**
 * The one table of gateway problems: the title of each HTTP status (RFC 9457
 * `title`), the stable code an HTTP exception of that status gets, and the
 * status of each stable code the layers below report.
 */

interface StatusRow {
  title: string;
  /** Code of an HTTPException (hono or its middleware) with this status; 5xx without one are `internal`. */
  code?: string;
}

const STATUSES: Readonly<Record<number, StatusRow>> = {
  400: { title: 'Bad Request', code: 'bad_request' },
  401: { title: 'Unauthorized', code: 'unauthorized' },
  403: { title: 'Forbidden', code: 'forbidden' },
  404: { title: 'Not Found', code: 'not_found' },
  405: { title: 'Method Not Allowed', code: 'method_not_allowed' },
  409: { title: 'Conflict', code: 'conflict' },
  413: { title: 'Content Too Large', code: 'payload_too_large' },
  415: { title: 'Unsupported Media Type', code: 'unsupported_media_type' },
  422: { title: 'Unprocessable Content', code: 'validation_failed' },
  429: { title: 'Too Many Requests', code: 'rate_limited' },
  500: { title: 'Internal Server Error' },
  502: { title: 'Bad Gateway' },
  503: { title: 'Service Unavailable', code: 'unavailable' },
  504: { title: 'Gateway Timeout' },
};

/** HTTP status of each stable code the engine, the store, the actors and the gateway report. */
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
  auth_rate_limited: 429,
  shard_unavailable: 503,
  shard_moved: 503,
  store_unavailable: 503,
  bus_unavailable: 503,
  internal: 500,
};

/** The `title` of a problem with `status` ("Error" for a status the table lacks). */
export const titleOf = (status: number): string => STATUSES[status]?.title ?? 'Error';

/** The stable code of an HTTPException with `status`, if the table names one. */
export const codeOfStatus = (status: number): string | undefined => STATUSES[status]?.code;

/** The status of a stable `code`, or undefined for a code the table does not know (own keys only). */
export const statusOfCode = (code: string): number | undefined =>
  Object.hasOwn(STATUS_OF_CODE, code) ? STATUS_OF_CODE[code] : undefined;
