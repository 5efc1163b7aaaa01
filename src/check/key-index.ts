import type { AcknowledgedCommand } from './acknowledged.ts';
import type { DuplicatedCommand, LogPosition, LostCommand } from './report.ts';

/** Every idempotency key of the tenant's log with where it is logged, to find lost and duplicated commands. */
export class KeyIndex {
  private readonly positions = new Map<string, LogPosition[]>();

  add(key: string, at: LogPosition): void {
    const list = this.positions.get(key);
    if (list) list.push(at);
    else this.positions.set(key, [at]);
  }

  /** Acknowledged commands not logged in their runtime (each runtime and key once). */
  lost(acknowledged: readonly AcknowledgedCommand[]): LostCommand[] {
    const out: LostCommand[] = [];
    for (const a of uniqueAcknowledged(acknowledged)) {
      const at = this.positions.get(a.idempotencyKey) ?? [];
      if (!at.some((p) => p.runtimeId === a.runtimeId)) out.push({ runtimeId: a.runtimeId, idempotencyKey: a.idempotencyKey, foundIn: at });
    }
    return out;
  }

  /** Keys logged by more than one step. */
  duplicated(acknowledged: readonly AcknowledgedCommand[]): DuplicatedCommand[] {
    const acked = new Set(acknowledged.map((a) => a.idempotencyKey));
    const out: DuplicatedCommand[] = [];
    for (const [key, at] of this.positions) {
      if (at.length > 1) out.push({ idempotencyKey: key, occurrences: at, acknowledged: acked.has(key) });
    }
    return out;
  }
}

/** The acknowledged commands with each (runtime, key) once: a retried command is acknowledged again under its key. */
export function uniqueAcknowledged(acknowledged: readonly AcknowledgedCommand[]): AcknowledgedCommand[] {
  const seen = new Map<string, AcknowledgedCommand>();
  for (const a of acknowledged) seen.set(JSON.stringify([a.runtimeId, a.idempotencyKey]), a);
  return [...seen.values()];
}
