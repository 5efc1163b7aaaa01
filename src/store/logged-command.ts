import type { LogEntry } from '../engine/index.ts';
import type { LoggedCommand, StoredLogEntry, TransitionRecord } from './ports.ts';

/**
 * What a record's first log entry stores about its step: the cause (start input
 * or command) and the idempotency key. Undefined when the record carries neither.
 */
export function loggedCommand(record: TransitionRecord): LoggedCommand | undefined {
  const key = record.idempotency?.key;
  if (record.cause === undefined && key === undefined) return undefined;
  return key === undefined ? { ...record.cause } : { idempotencyKey: key, ...record.cause };
}

/** A step's log entries as the audit log stores them: the first one carries what produced the step. */
export function storedLogEntries(log: readonly LogEntry[], command: LoggedCommand | undefined): StoredLogEntry[] {
  return log.map((entry, i) => (i === 0 && command !== undefined ? { ...entry, command } : entry));
}
