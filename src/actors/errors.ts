/** Failures of the shard bus itself (NATS or the in-process twin), independent of any command. */
export type BusErrorCode =
  /** Nobody serves the shard's subject right now (shard moving, node down): try again shortly. */
  | 'no_responders'
  /** The holder did not answer in time; it may still commit the command (retry with the same idempotency key). */
  | 'timeout'
  /** The connection is closed, draining or lost. */
  | 'bus_unavailable';

/** Stable error codes of the actors layer (the gateway maps them to problem+json in one place). */
export type ActorErrorCode =
  | BusErrorCode
  /** The routing client gave up at its deadline: the gateway answers 503 with Retry-After. */
  | 'shard_unavailable'
  /** The event stream did not acknowledge a publish (timeout, no stream, server error). */
  | 'event_publish_failed';

const RETRYABLE: Record<ActorErrorCode, boolean> = {
  no_responders: true,
  timeout: true,
  bus_unavailable: true,
  shard_unavailable: true,
  event_publish_failed: true,
};

export interface ActorErrorOptions {
  cause?: unknown;
  /** When a retry may succeed (a hint for Retry-After), in ms. */
  retryAfterMs?: number;
}

/** An actors-layer failure with a stable `code`; `retryable` says whether trying again may help. */
export class ActorError extends Error {
  override readonly name: string = 'ActorError';
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;

  constructor(
    readonly code: ActorErrorCode,
    message: string,
    options: ActorErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.retryable = RETRYABLE[code];
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** A shard bus failure: what `ShardBus.request` rejects with. */
export class BusError extends ActorError {
  override readonly name: string = 'BusError';
  declare readonly code: BusErrorCode;

  constructor(code: BusErrorCode, message: string, options: ActorErrorOptions = {}) {
    super(code, message, options);
  }
}

/** True for a BusError with one of `codes` (any code when none are given). */
export function isBusError(err: unknown, ...codes: BusErrorCode[]): err is BusError {
  return err instanceof BusError && (codes.length === 0 || codes.includes(err.code));
}
