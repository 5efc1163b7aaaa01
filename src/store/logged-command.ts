import type { LoggedCommand, TransitionRecord } from './ports.ts';

/**
 * What a record's first log entry stores about its step: the cause (start input
 * or command) and the idempotency key. Undefined when the record carries neither.
 */
export function loggedCommand(record: TransitionRecord): LoggedCommand | undefined {
  const key = record.idempotency?.key;
  if (record.cause === undefined && key === undefined) return undefined;
  return key === undefined ? { ...record.cause } : { idempotencyKey: key, ...record.cause };
}
