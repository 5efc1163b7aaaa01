/** Stable codes of the checker's own failures (violations are not errors: they are the report). */
export type CheckErrorCode =
  /** An input is malformed (acknowledged-commands file, option value); the message names it. */
  | 'bad_input'
  /** The event stream does not exist. */
  | 'stream_not_found'
  /** Reading the stream took longer than `streamTimeoutMs`. */
  | 'stream_timeout';

export class CheckError extends Error {
  override readonly name = 'CheckError';
  constructor(
    readonly code: CheckErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
