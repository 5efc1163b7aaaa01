import type { NatsConnection } from '@nats-io/transport-node';
import type mysql from 'mysql2/promise';
import { connectNats } from '../actors/nats/index.ts';
import { compileWorkflow, inMemoryDirectory, type DirectoryView } from '../engine/index.ts';
import { MySqlDirectoryStore } from '../store/mysql/directory-store.ts';
import { createMySqlPool } from '../store/mysql/pool.ts';
import { MySqlDataKeyStore } from '../store/mysql/data-key-store.ts';
import { EnvelopeCipher, PLAINTEXT_CIPHER } from '../store/crypto/field-cipher.ts';
import type { MasterKeyRing } from '../store/crypto/key-ring.ts';
import { MySqlWorkflowStore } from '../store/mysql/workflow-store.ts';
import type { AcknowledgedCommand } from './acknowledged.ts';
import { CheckError } from './errors.ts';
import { EventLedger } from './event-ledger.ts';
import { KeyIndex, uniqueAcknowledged } from './key-index.ts';
import { memoWorkflows, replayLog, type WorkflowSource } from './replay.ts';
import { emptyReport, finishReport, type InvariantReport } from './report.ts';
import { checkRuntime, checkSlot, checkStepLog, straySlots } from './runtime-checks.ts';
import { readTenantEvents } from './stream-reader.ts';
import {
  directoryChangedAt,
  idempotencyPages,
  outboxPages,
  runtimePages,
  documentSlots,
  retentionRecord,
  type RetentionRecord,
  type RuntimeRows,
  type TenantReaderOptions,
} from './tenant-reader.ts';

export interface CheckInvariantsInput {
  /** The cluster's MySQL: a pool (left open) or a URL (a pool is opened and closed). */
  pool?: mysql.Pool;
  mysqlUrl?: string;
  tenant: string;
  /** The event stream (a connection left open, or a URL). Without it only the outbox is checked. */
  nats?: { connection?: NatsConnection; url?: string; stream: string };
  /** Every command the system acknowledged for the tenant (other tenants' entries are ignored). */
  acknowledged: readonly AcknowledgedCommand[];
  /** Timeout of each MySQL query. @default 30000 */
  queryTimeoutMs?: number;
  /** Bound on reading the stream. @default 60000 */
  streamTimeoutMs?: number;
  /** Runtimes read per page. @default 500 */
  pageSize?: number;
  /** The master keys, to open the encrypted columns (docs/security.md). @default none: plaintext only */
  keyRing?: MasterKeyRing;
}

/**
 * Checks bflow's promises for one tenant, on a quiet system (no commands in
 * flight; the relay caught up):
 * - every acknowledged command is in its runtime's log exactly once (by idempotency key), and
 *   every logged key has its idempotency record (same runtime), every record a logged step;
 * - every runtime's stored state and log equal the replay of its log through the engine
 *   (`start`, then `step` per logged command, each entry's `at` as now), with the
 *   workflow versions from MySQL and the tenant's directory as it is now — the directory
 *   must not have changed during the checked period, or assignments may replay differently
 *   (the report warns when an employee or group was updated after the first checked step);
 * - the tasks table holds exactly the task rows the replayed steps wrote, and no task was
 *   closed twice;
 * - every runtime's runtime_steps replay (store `replaySteps`, the code activation runs) to its stored state;
 * - each active runtime holds its document's slot (active_documents), and no other runtime holds one;
 * - the outbox holds exactly the replayed steps' events, every row is published, and each
 *   committed event is in the stream exactly once (with its tenant-qualified id as Nats-Msg-Id, see eventMsgId), nothing else;
 * - what retention removed (retention_ledger, and the idempotency cursor in retention_marks) is not a loss: a
 *   removed runtime's rows, a compacted step's outbox row and key, a forgotten key. Anything missing that the
 *   ledger does not account for is still reported.
 * Runtimes are read in pages by id; memory grows with the tenant's log keys and event ids.
 */
export async function checkInvariants(input: CheckInvariantsInput): Promise<InvariantReport> {
  const ownPool = input.pool ? undefined : createMySqlPool(requireUrl(input.mysqlUrl), { connectionLimit: 4 });
  const pool = input.pool ?? ownPool!;
  try {
    const reader: TenantReaderOptions = {
      pool,
      tenant: input.tenant,
      timeoutMs: input.queryTimeoutMs ?? 30_000,
      pageSize: positive('pageSize', input.pageSize ?? 500),
      // Reads only: a tenant's data key is read where a sealed value needs it, never created here.
      cipher: input.keyRing
        ? new EnvelopeCipher(input.keyRing, new MySqlDataKeyStore(pool), { encrypt: false })
        : PLAINTEXT_CIPHER,
    };
    const report = emptyReport(input.tenant);
    const acknowledged = uniqueAcknowledged(input.acknowledged.filter((a) => a.tenant === input.tenant));
    report.counts.acknowledged = acknowledged.length;
    const keys = new KeyIndex();
    const events = new EventLedger(input.tenant);
    const retention = await retentionRecord(reader);
    await checkRuntimes(reader, report, keys, events, retention);
    await checkOutbox(reader, events);
    for await (const page of idempotencyPages({ ...reader, keyPageSize: reader.pageSize * 4 })) {
      for (const record of page) keys.addRecord(record.key, record.runtimeId);
    }
    if (input.nats) {
      const { stream } = input.nats;
      const options = { stream, tenant: input.tenant, timeoutMs: input.streamTimeoutMs ?? 60_000 };
      report.counts.eventsInStream = await withNats(input.nats, (nc) =>
        readTenantEvents(nc, options, (m) => events.addMessage(m)),
      );
      events.endStream();
    }
    // A runtime whose audit log a tenant's policy removed has no log left to find its commands in.
    report.lost = keys.lost(acknowledged.filter((a) => retention.runtimes.get(a.runtimeId)?.auditRemoved !== true));
    report.duplicated = keys.duplicated(acknowledged);
    report.idempotencyMismatches = keys.idempotencyMismatches();
    report.events = events.violations;
    report.counts.outboxRows = events.outboxRows;
    report.counts.eventsCommitted = events.eventsCommitted;
    return finishReport(report);
  } finally {
    await ownPool?.end();
  }
}

async function checkRuntimes(
  reader: TenantReaderOptions,
  report: InvariantReport,
  keys: KeyIndex,
  events: EventLedger,
  retention: RetentionRecord,
): Promise<void> {
  const workflows = compiledVersions(reader);
  const [dir, changedAt, slots] = await Promise.all([
    directoryOf(reader),
    directoryChangedAt(reader),
    documentSlots(reader),
  ]);
  // Steps retention removed have no outbox rows, whether or not anything of their runtime is left to read.
  for (const [runtimeId, r] of retention.runtimes) events.prunedThrough(runtimeId, r.throughSeq);
  let firstStepAt = Infinity;
  for await (const page of runtimePages(reader)) {
    for (const rows of page) {
      for (const entry of rows.log) firstStepAt = Math.min(firstStepAt, entry.at);
      const pruned = retention.runtimes.get(rows.runtimeId)?.throughSeq ?? 0;
      if (pruned === Infinity && rows.state === undefined) {
        removedByRetention(rows, report, keys);
        continue;
      }
      forgiveRetainedKeys(rows, pruned, retention.idempotencyPosition, keys);
      await checkOne(rows, workflows, dir, report, keys, events, pruned);
      report.replayMismatches.push(...checkStepLog(rows), ...checkSlot(rows, slots));
    }
  }
  report.replayMismatches.push(...straySlots(slots));
  if (changedAt !== undefined && changedAt > firstStepAt) {
    report.warnings.push(
      `the directory changed at ${iso(changedAt)}, after the first checked step (${iso(firstStepAt)}): the replay uses today's ` +
        'directory, so a replay mismatch in assignments may be that change rather than a bug',
    );
  }
}

const iso = (ms: number): string => new Date(ms).toISOString();

async function checkOne(
  rows: RuntimeRows,
  workflows: WorkflowSource,
  dir: DirectoryView,
  report: InvariantReport,
  keys: KeyIndex,
  events: EventLedger,
  prunedThroughSeq: number,
): Promise<void> {
  const id = rows.runtimeId;
  if (rows.state !== undefined) report.counts.runtimes += 1;
  report.counts.logEntries += rows.log.length;
  report.counts.taskRows += rows.tasks.length;
  for (const entry of rows.log) {
    const key = entry.command?.idempotencyKey;
    if (key !== undefined) keys.add(key, { runtimeId: id, seq: entry.seq });
  }
  const replay = rows.state === undefined ? undefined : await replayLog(rows.log, workflows, dir);
  // Steps retention compacted have no outbox rows any more.
  if (replay?.ok) {
    for (const s of replay.steps) {
      if (s.stateSeq > prunedThroughSeq) events.expectStep(id, s.stateSeq, s.eventIds);
    }
  } else events.skipRuntime(id);
  const v = checkRuntime(rows, replay);
  report.replayMismatches.push(...v.replay);
  report.tasksClosedTwice.push(...v.closedTwice);
  report.taskMismatches.push(...v.tasks);
}

/**
 * A runtime whose hot rows retention removed (the ledger says so): only its audit log is left, if its tenant's
 * policy kept it. Its logged keys have no record and its events no outbox row, by design; nothing else to check.
 */
function removedByRetention(rows: RuntimeRows, report: InvariantReport, keys: KeyIndex): void {
  report.counts.removedByRetention += 1;
  report.counts.logEntries += rows.log.length;
  for (const entry of rows.log) {
    const key = entry.command?.idempotencyKey;
    if (key === undefined) continue;
    keys.add(key, { runtimeId: rows.runtimeId, seq: entry.seq });
    keys.forgive(key);
  }
}

/**
 * Keys whose record retention removed: those of steps it compacted (log seq at or below `prunedThroughSeq`), and
 * those it forgot (a step at or below the job's idempotency cursor whose key column it cleared). A key cleared
 * anywhere else is still a violation.
 */
function forgiveRetainedKeys(
  rows: RuntimeRows,
  prunedThroughSeq: number,
  idempotencyPosition: number,
  keys: KeyIndex,
): void {
  if (prunedThroughSeq > 0) {
    for (const entry of rows.log) {
      const key = entry.command?.idempotencyKey;
      if (key !== undefined && entry.seq <= prunedThroughSeq) keys.forgive(key);
    }
  }
  for (const step of rows.steps) {
    const key = step.body.cause?.idempotencyKey;
    if (key !== undefined && step.keyCleared && step.position <= idempotencyPosition) keys.forgive(key);
  }
}

async function checkOutbox(reader: TenantReaderOptions, events: EventLedger): Promise<void> {
  for await (const page of outboxPages({ ...reader, outboxPageSize: reader.pageSize * 4 })) {
    for (const row of page) events.addOutboxRow(row);
  }
  events.endOutbox();
}

function compiledVersions(reader: TenantReaderOptions): WorkflowSource {
  const store = new MySqlWorkflowStore(reader.pool, {
    queryTimeoutMs: reader.timeoutMs,
    ...(reader.cipher && { cipher: reader.cipher }),
  });
  return memoWorkflows(async (workflowId, version) => {
    const stored = await store.getVersion(reader.tenant, workflowId, version);
    return stored && compileWorkflow(stored.definition, workflowId, version);
  });
}

async function directoryOf(reader: TenantReaderOptions): Promise<DirectoryView> {
  const { employees, groups } = await new MySqlDirectoryStore(reader.pool, {
    queryTimeoutMs: reader.timeoutMs,
  }).loadDirectory(reader.tenant);
  return inMemoryDirectory(employees, groups);
}

async function withNats<T>(
  nats: NonNullable<CheckInvariantsInput['nats']>,
  body: (nc: NatsConnection) => Promise<T>,
): Promise<T> {
  if (nats.connection) return body(nats.connection);
  if (!nats.url) throw new CheckError('bad_input', 'nats needs a connection or a url');
  const nc = await connectNats({ url: nats.url, name: 'bflow-check', timeoutMs: 5_000 });
  try {
    return await body(nc);
  } finally {
    await nc.close();
  }
}

function requireUrl(url: string | undefined): string {
  if (!url) throw new CheckError('bad_input', 'checkInvariants needs a pool or a mysqlUrl');
  return url;
}

function positive(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1)
    throw new CheckError('bad_input', `${name} must be a positive integer, got ${value}`);
  return value;
}
