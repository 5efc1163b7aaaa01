/** Stable codes of shard-lease failures (kept apart from errors.ts until the layer's error list is merged). */
export type LeaseErrorCode =
  /** The cluster recorded another shard count at its first start. */
  | 'shard_count_mismatch'
  /** A lease bucket exists with settings this node cannot work with (e.g. another TTL). */
  | 'lease_config_mismatch'
  /** A NATS call did not answer within its timeout. */
  | 'nats_timeout';

const RETRYABLE: Record<LeaseErrorCode, boolean> = {
  shard_count_mismatch: false,
  lease_config_mismatch: false,
  nats_timeout: true,
};

/** A lease-manager failure with a stable `code`; `retryable` says whether trying again may help. */
export class LeaseError extends Error {
  override readonly name = 'LeaseError';
  readonly retryable: boolean;

  constructor(
    readonly code: LeaseErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.retryable = RETRYABLE[code];
  }
}

/** Rejects with LeaseError('nats_timeout') when `promise` has not settled within `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new LeaseError('nats_timeout', `${what}: no answer within ${ms} ms`)), ms);
  });
  promise.catch(() => undefined); // a late rejection after the timeout must not go unhandled
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
