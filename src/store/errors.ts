/** Stable error codes of the store layer. */
export type StoreErrorCode =
  | 'store_unavailable'
  | 'migration_modified'
  | 'migration_failed'
  | 'writer_closed'
  | 'invalid_record'
  /** The runtime log cannot rebuild a state (no start or base step before it): restore the log, then retry. */
  | 'log_incomplete';

const RETRYABLE: Record<StoreErrorCode, boolean> = {
  store_unavailable: true,
  migration_modified: false,
  migration_failed: false,
  writer_closed: false,
  invalid_record: false,
  log_incomplete: false,
};

/** A store failure with a stable `code`; `retryable` says whether trying again may help. */
export class StoreError extends Error {
  override readonly name = 'StoreError';
  readonly retryable: boolean;

  constructor(
    readonly code: StoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.retryable = RETRYABLE[code];
  }
}
