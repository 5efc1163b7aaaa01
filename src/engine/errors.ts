/** Stable error codes of the engine (a subset of the API's codes, docs/api.md#errors). */
export type EngineErrorCode =
  | 'validation_failed'
  | 'action_not_allowed'
  | 'not_assignee'
  | 'fields_not_editable'
  | 'next_assignee_required'
  | 'invalid_command'
  | 'condition_error'
  | 'workflow_invalid';

export interface EngineErrorDetail {
  path: string;
  message: string;
}

/**
 * A command or definition the engine refuses. Nothing changed; retrying the same
 * input gives the same answer (`retryable` is always false), so fix the input.
 */
export class EngineError extends Error {
  override readonly name = 'EngineError';
  readonly retryable = false;

  constructor(
    readonly code: EngineErrorCode,
    message: string,
    readonly errors: readonly EngineErrorDetail[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
