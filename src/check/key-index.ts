import type { AcknowledgedCommand } from './acknowledged.ts';
import type { DuplicatedCommand, IdempotencyMismatch, LogPosition, LostCommand } from './report.ts';

const SEP = '\u0000';
const encode = (at: LogPosition): string => `${at.runtimeId}${SEP}${at.seq}`;
const decode = (s: string): LogPosition => {
  const i = s.lastIndexOf(SEP);
  return { runtimeId: s.slice(0, i), seq: Number(s.slice(i + 1)) };
};

/**
 * Every idempotency key of the tenant's log with where it is logged, to find
 * lost and duplicated commands. Positions are kept as strings (one per key;
 * a list only for keys logged more than once): a tenant's log holds 10^5–10^6 keys.
 */
export class KeyIndex {
  private readonly first = new Map<string, string>();
  private readonly more = new Map<string, string[]>();
  private readonly recorded = new Set<string>();
  private readonly records: IdempotencyMismatch[] = [];

  add(key: string, at: LogPosition): void {
    const first = this.first.get(key);
    if (first === undefined) this.first.set(key, encode(at));
    else this.more.set(key, [...(this.more.get(key) ?? [first]), encode(at)]);
  }

  /** One row of idempotency_keys: its step must be logged, in the same runtime. */
  addRecord(key: string, runtimeId: string): void {
    this.recorded.add(key);
    const at = this.positions(key);
    if (at.length === 0) this.records.push({ idempotencyKey: key, problem: 'not logged', runtimeId });
    else if (!at.some((p) => p.runtimeId === runtimeId)) {
      this.records.push({
        idempotencyKey: key,
        problem: 'other runtime',
        runtimeId: at[0]!.runtimeId,
        recordRuntimeId: runtimeId,
      });
    }
  }

  /** A logged key whose record retention removed (its step compacted or removed, or the key forgotten): not a mismatch. */
  forgive(key: string): void {
    this.recorded.add(key);
  }

  /** After every record was added: the records' mismatches, and logged keys without a record. */
  idempotencyMismatches(): IdempotencyMismatch[] {
    const out = [...this.records];
    for (const [key, first] of this.first) {
      if (!this.recorded.has(key))
        out.push({ idempotencyKey: key, problem: 'no record', runtimeId: decode(first).runtimeId });
    }
    return out;
  }

  /** Acknowledged commands not logged in their runtime (each runtime and key once). */
  lost(acknowledged: readonly AcknowledgedCommand[]): LostCommand[] {
    const out: LostCommand[] = [];
    for (const a of uniqueAcknowledged(acknowledged)) {
      const at = this.positions(a.idempotencyKey);
      if (!at.some((p) => p.runtimeId === a.runtimeId))
        out.push({ runtimeId: a.runtimeId, idempotencyKey: a.idempotencyKey, foundIn: at });
    }
    return out;
  }

  /** Keys logged by more than one step. */
  duplicated(acknowledged: readonly AcknowledgedCommand[]): DuplicatedCommand[] {
    const acked = new Set(acknowledged.map((a) => a.idempotencyKey));
    return [...this.more].map(([key, at]) => ({
      idempotencyKey: key,
      occurrences: at.map(decode),
      acknowledged: acked.has(key),
    }));
  }

  private positions(key: string): LogPosition[] {
    const more = this.more.get(key);
    if (more) return more.map(decode);
    const first = this.first.get(key);
    return first === undefined ? [] : [decode(first)];
  }
}

/** The acknowledged commands with each (runtime, key) once: a retried command is acknowledged again under its key. */
export function uniqueAcknowledged(acknowledged: readonly AcknowledgedCommand[]): AcknowledgedCommand[] {
  const seen = new Map<string, AcknowledgedCommand>();
  for (const a of acknowledged) seen.set(`${a.runtimeId}${SEP}${a.idempotencyKey}`, a);
  return [...seen.values()];
}
