import { ENCRYPTED, pairId } from '../crypto/encrypted-columns.ts';
import type { FieldCipher } from '../crypto/field-cipher.ts';
import { storedLogEntries } from '../logged-command.ts';
import type { LoggedCommand, StoredLogEntry } from '../ports.ts';
import type { StepBody } from '../step-log.ts';
import { num, openJson, optStr, str, type Row } from './sql.ts';

/**
 * A runtime's audit log (its history, `GET /runtimes/{id}/history`): the log entries of its steps, read from the
 * log itself (runtime_steps), after the runtime_log rows of the steps that are no longer there: those
 * retention compacted or removed (it writes their rows first), and those committed before this release, when
 * the projector still wrote a row per entry. The commit and the projector write no runtime_log row.
 */

/** runtime_log's columns, in the order of {@link auditLogRows}. */
export const AUDIT_LOG_COLUMNS = 'seq, at, actor, action, from_node, to_node, comment, changes, command';

/** Writes audit rows, keeping any row already there (an entry is never rewritten). */
export const INSERT_AUDIT_LOG = `INSERT INTO runtime_log (tenant, runtime_id, ${AUDIT_LOG_COLUMNS}) VALUES ? ON DUPLICATE KEY UPDATE seq = seq`;

/** The log entries of one runtime's steps (any order), the step's cause on its first entry. */
export function stepLogEntries(bodies: Iterable<StepBody>): StoredLogEntry[] {
  const entries: StoredLogEntry[] = [];
  for (const body of bodies) entries.push(...storedLogEntries(body.log ?? [], body.cause));
  return entries;
}

/** The runtime_log rows of `entries` (columns: tenant, runtime_id, then {@link AUDIT_LOG_COLUMNS}), sealed with `cipher`. */
export function auditLogRows(
  tenant: string,
  runtimeId: string,
  entries: readonly StoredLogEntry[],
  cipher: FieldCipher,
): unknown[][] {
  return entries.map((l) => {
    const rowId = pairId(runtimeId, l.seq);
    return [
      tenant,
      runtimeId,
      l.seq,
      l.at,
      l.actor,
      l.action,
      l.fromNode,
      l.toNode ?? null,
      l.comment === undefined ? null : cipher.seal(tenant, ENCRYPTED.logComment, rowId, l.comment),
      l.changes === undefined ? null : cipher.seal(tenant, ENCRYPTED.logChanges, rowId, JSON.stringify(l.changes)),
      l.command === undefined ? null : cipher.seal(tenant, ENCRYPTED.logCommand, rowId, JSON.stringify(l.command)),
    ];
  });
}

/** A runtime_log row of `runtimeId` (its {@link AUDIT_LOG_COLUMNS}) as a StoredLogEntry, opened. */
export async function toLogEntry(
  cipher: FieldCipher,
  tenant: string,
  runtimeId: string,
  r: Row,
): Promise<StoredLogEntry> {
  const entry: StoredLogEntry = {
    seq: num(r.seq),
    at: num(r.at),
    actor: str(r.actor),
    action: str(r.action),
    fromNode: str(r.from_node),
  };
  const toNode = optStr(r.to_node);
  const comment = optStr(r.comment);
  if (toNode !== undefined) entry.toNode = toNode;
  const rowId = pairId(runtimeId, entry.seq);
  if (comment !== undefined) entry.comment = await cipher.open(tenant, ENCRYPTED.logComment, rowId, comment);
  if (r.changes !== null && r.changes !== undefined)
    entry.changes = await openJson<Record<string, [unknown, unknown]>>(
      cipher,
      tenant,
      ENCRYPTED.logChanges,
      rowId,
      r.changes,
    );
  if (r.command !== null && r.command !== undefined)
    entry.command = await openJson<LoggedCommand>(cipher, tenant, ENCRYPTED.logCommand, rowId, r.command);
  return entry;
}

/** The audit log in seq order: the stored rows, and the steps' entries they do not hold. */
export function mergeAuditLog(
  stored: readonly StoredLogEntry[],
  fromSteps: readonly StoredLogEntry[],
): StoredLogEntry[] {
  const seqs = new Set(stored.map((e) => e.seq));
  const added = fromSteps.filter((e) => !seqs.has(e.seq));
  if (added.length === 0) return [...stored];
  return [...stored, ...added].sort((a, b) => a.seq - b.seq);
}
