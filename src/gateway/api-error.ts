/** One field problem of a 4xx: where in the request (`items.0.action`, `query.limit`) and what is wrong there. */
export interface FieldError {
  path: string;
  message: string;
}

/**
 * An error the gateway answers as `application/problem+json` (RFC 9457) with a
 * stable `code`. Thrown anywhere in a handler; mapped to a response in one
 * place (`problems/to-problem.ts`). `detail` says what to do; never a stack trace.
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
