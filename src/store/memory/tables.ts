import type { Employee, Group, RuntimeState, TaskChange } from '../../engine/index.ts';
import type { DomainEvent } from '../../engine/index.ts';
import type { StepBody } from '../step-log.ts';
import type { AppConfig, DueTimer, StoredLogEntry, WorkflowRecord, WorkflowVersion } from '../ports.ts';
import { compareStrings, SortedList } from './sorted-list.ts';
import { resolveOptions, type OptionDefaults } from '../../shared/options.ts';

/** Options of the in-process store. */
export interface MemoryStoreOptions {
  /** Clock for the times the store sets itself (idempotency records, outbox rows). @default Date.now */
  now?: () => number;
}

export const DEFAULT_MEMORY_STORE_OPTIONS = Object.freeze({
  now: Date.now,
} satisfies OptionDefaults<MemoryStoreOptions>);

/** A task row of the inbox, as the `tasks` table holds it. */
export interface TaskRow extends TaskChange {
  tenant: string;
  runtimeId: string;
  app: string;
  docId: string;
}

export interface RuntimeRow {
  shard: number;
  state: RuntimeState;
}

export interface TimerRow extends DueTimer {
  shard: number;
}

/** One runtime_steps row: a committed step of the log. */
export interface StepRow {
  revision: number;
  position: number;
  shard: number;
  idemKey?: string;
  body: StepBody;
  createdAt: number;
}

/** Where an idempotency key was committed: its step. */
export interface IdempotencyRef {
  runtimeId: string;
  revision: number;
  createdAt: number;
}

/** One committed step's events (the relay's view of a step with events). */
export interface OutboxRow {
  position: number;
  shard: number;
  events: DomainEvent[];
  createdAt: number;
}

/** What retention did to one runtime (the twin of a retention_ledger row). */
export interface RetentionLedgerRow {
  stepsThroughRevision?: number;
  finishedAt?: number;
  removedAt?: number;
  auditRemovedAt?: number;
}

/** A key out of parts; `\u0000` can't occur in the ids the API accepts. */
export const key = (...parts: (string | number)[]): string => parts.join('\u0000');

/** Inbox order: `(assigned_at, runtime_id, stage)`, as the `tasks_inbox` index. */
const compareInbox = (a: TaskRow, b: TaskRow): number =>
  a.assignedAt - b.assignedAt || compareStrings(a.runtimeId, b.runtimeId) || a.stage - b.stage;

/**
 * The twin's tables, shared by its repositories. Stored values are never handed
 * out: readers copy (structuredClone) on the way out, the writer on the way in.
 */
export class MemoryTables {
  readonly now: () => number;
  /** key(tenant, id) → runtime. */
  readonly runtimes = new Map<string, RuntimeRow>();
  /** Per tenant: runtime ids in order, for keyset listing. */
  readonly runtimeIds = new Map<string, SortedList<string>>();
  /** key(tenant, app, docId) → id of the document's active runtime. */
  readonly activeDocs = new Map<string, string>();
  /** key(tenant, runtimeId) → log in seq order. */
  readonly logs = new Map<string, StoredLogEntry[]>();
  /** key(tenant, runtimeId, stage, assignee) → task. */
  readonly tasks = new Map<string, TaskRow>();
  /** key(tenant, assignee, status) → tasks in inbox order. */
  readonly inboxes = new Map<string, SortedList<TaskRow>>();
  /** key(tenant, runtimeId) → its steps (the log) in revision order. */
  readonly steps = new Map<string, StepRow[]>();
  /** key(tenant, idempotency key) → the step that committed it. */
  readonly idempotency = new Map<string, IdempotencyRef>();
  /** Per shard: key(tenant, timer id) → timer. */
  readonly timers = new Map<number, Map<string, TimerRow>>();
  /** key(tenant, timer id) → the shard holding it. */
  readonly timerShards = new Map<string, number>();
  /** Per shard: its steps with events after the published watermark, in position order. */
  readonly unpublished = new Map<number, Map<number, OutboxRow>>();
  /** Per shard: the published watermark. */
  readonly published = new Map<number, number>();
  /** The last step position handed out (one sequence, as runtime_steps' auto-increment). */
  lastPosition = 0;
  /** Per tenant: id → employee / group. */
  readonly employees = new Map<string, Map<string, Employee>>();
  readonly groups = new Map<string, Map<string, Group>>();
  /** key(tenant, id) → workflow; key(tenant, id, version) → version. */
  readonly workflows = new Map<string, WorkflowRecord>();
  readonly versions = new Map<string, WorkflowVersion>();
  /** key(tenant, companyId, app) → config. */
  readonly appConfigs = new Map<string, AppConfig>();
  /** Retention: tenant → audit_log_days (null: kept) and when set; key(tenant, runtimeId) → what was removed. */
  readonly retentionPolicies = new Map<string, { auditLogDays: number | null; updatedAt: number }>();
  readonly retentionLedger = new Map<string, RetentionLedgerRow>();
  /** Archived hot rows, by key(tenant, runtimeId) (the twin of the *_archive tables). */
  readonly archive = {
    runtimes: new Map<string, RuntimeRow>(),
    steps: new Map<string, StepRow[]>(),
    tasks: new Map<string, TaskRow[]>(),
  };

  constructor(options: MemoryStoreOptions = {}) {
    this.now = resolveOptions(DEFAULT_MEMORY_STORE_OPTIONS, options).now;
  }

  inbox(tenant: string, assignee: string, status: string): SortedList<TaskRow> {
    return getOrCreate(this.inboxes, key(tenant, assignee, status), () => new SortedList(compareInbox));
  }

  /** Deletes a timer; with `dueAt`, only while it still has that due time. */
  deleteTimer(timerKey: string, dueAt?: number): void {
    const shard = this.timerShards.get(timerKey);
    if (shard === undefined) return;
    if (dueAt !== undefined && this.timers.get(shard)?.get(timerKey)?.dueAt !== dueAt) return;
    this.timers.get(shard)?.delete(timerKey);
    this.timerShards.delete(timerKey);
  }

  tenantRuntimeIds(tenant: string): SortedList<string> {
    return getOrCreate(this.runtimeIds, tenant, () => new SortedList(compareStrings));
  }
}

export function getOrCreate<K, V>(map: Map<K, V>, k: K, make: () => V): V {
  let v = map.get(k);
  if (v === undefined) {
    v = make();
    map.set(k, v);
  }
  return v;
}
