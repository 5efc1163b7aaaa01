import type {
  Command,
  DomainEvent,
  MigrateCommand,
  Effects,
  Employee,
  Group,
  RuntimeState,
  StartInput,
  StateChange,
  WorkflowDefinition,
} from '../engine/index.ts';

/**
 * Ports of the durable store. The actors and the gateway depend on these
 * interfaces; MySQL/Redis adapters and the in-process twins implement them,
 * and one contract suite runs against every implementation.
 * Every method is tenant-scoped: a tenant id is part of every query.
 */

/** What one engine step hands to the group-commit writer. */
export interface TransitionRecord {
  tenant: string;
  shard: number;
  /** Revision the step started from; 0 = the runtime is new (insert). */
  baseRevision: number;
  /**
   * The step makes a finished runtime active again (`change_request`): like a start, it claims its document's
   * slot, and is refused `duplicate_runtime` while another runtime holds it. The caller knows the state before
   * the step; a writer that commits without reading cannot tell it from the state after.
   */
  reopens?: boolean;
  /** The state after the step; `state.revision === baseRevision + 1`. */
  state: RuntimeState;
  effects: Effects;
  /**
   * What the step changed (engine `diffState(before, state)`), stored on its log row so the log replays.
   * Absent: the row stores the whole state as a base step (tests; a start is `{ init: state }` either way).
   */
  change?: StateChange;
  /**
   * The key is stored on the step's log row (idempotency by reference): a retry finds the step and its
   * reply is rebuilt from the log. `response` is not stored (kept for callers that still pass it).
   */
  idempotency?: { key: string; response?: unknown };
  /** What produced the step, logged with its first log entry (with the idempotency key) so the log can be replayed. */
  cause?: StepCause;
}

/**
 * What produced a step: the engine's `start` input (document included) or the
 * command given to `step`. With the step's first log entry's `at` as `now`, the
 * engine reproduces the step from it.
 */
export type StepCause = { start: StartInput } | { command: Command } | { migrate: MigrateCommand };

/** A step's cause as the log stores it (JSON on the step's first log row), with the idempotency key it was committed under. */
export interface LoggedCommand {
  idempotencyKey?: string;
  start?: StartInput;
  command?: Command;
  /** A migration to another version of the workflow: replay switches the runtime's definition here. */
  migrate?: MigrateCommand;
}

export type CommitFailureCode =
  /** Another writer committed a newer revision first; reload and retry. */
  | 'conflict'
  /** The document already has an active runtime (one per document, enforced by the database). */
  | 'duplicate_runtime'
  /** The same idempotency key was committed already; read its reply with findIdempotency. */
  | 'duplicate_idempotency_key'
  /** MySQL is unreachable or timed out; nothing was written. */
  | 'store_unavailable';

/**
 * A committed record carries the position of its step in its shard's log when the store knows it without
 * reading it back, so the outbox relay can publish the step's events at once and advance the shard's
 * published watermark past it.
 */
export type CommitOutcome =
  | { ok: true; outboxPosition?: number }
  | { ok: false; code: CommitFailureCode; message: string };

/** Group-commit writer: many callers, one transaction per batch, each caller told its own outcome after commit. */
export interface TransitionWriter {
  commit(record: TransitionRecord): Promise<CommitOutcome>;
  /** Commits whatever is queued now. */
  flush(): Promise<void>;
  /** Flushes, then refuses new records. */
  close(): Promise<void>;
  /**
   * Projects every committed step of `shard` not projected yet, a previous owner's included (a writer whose
   * projections follow the commit). A new owner awaits it before firing the shard's timers.
   */
  catchUp?(shard: number): Promise<void>;
}

/**
 * A committed idempotency key and its first reply: `{ state, created? }`, the state at the revision the key
 * committed (rebuilt from the log) and `created: true` for a start. Keys committed before migration 004
 * answer the reply stored with them then.
 */
export interface StoredIdempotency {
  key: string;
  runtimeId: string;
  response: unknown;
  createdAt: number;
}

export interface DueTimer {
  id: string;
  tenant: string;
  runtimeId: string;
  kind: 'sla_due' | 'reminder';
  stage: number;
  dueAt: number;
}

/**
 * One event of the outbox (the events of the shard's committed steps). The events of one step share its
 * position; mark a position published once all its events are acknowledged.
 */
export interface OutboxEvent {
  /** The step's position in its shard's log (ordering and the published watermark), shared by its events. */
  position: number;
  shard: number;
  event: DomainEvent;
  createdAt: number;
}

/** A shard's steps are published up to `position`. */
export interface PublishedMark {
  shard: number;
  position: number;
}

/** The write side's reads: what an actor needs to activate and what the timer/outbox services poll. */
export interface RuntimeStore {
  /**
   * The runtime's latest committed state: the runtime row (a projection), then the log's steps after its
   * revision replayed over it. With `from` (a state of the runtime known already, e.g. a Redis snapshot),
   * only the steps after `from.revision` are read and replayed over it.
   */
  loadRuntime(tenant: string, runtimeId: string, from?: RuntimeState): Promise<RuntimeState | undefined>;
  findActiveRuntime(tenant: string, app: string, docId: string): Promise<RuntimeState | undefined>;
  findIdempotency(tenant: string, key: string): Promise<StoredIdempotency | undefined>;
  /** Timers of a shard due at or before `now`, oldest first. */
  dueTimers(shard: number, now: number, limit: number): Promise<DueTimer[]>;
  /** Which of `shards` have a timer due at or before `now` (one probe for a node's shards, not a poll each). */
  shardsWithDueTimers(shards: readonly number[], now: number): Promise<number[]>;
  /**
   * Deletes a fired timer (idempotent). With `dueAt`, only while it is still
   * due then: a reminder re-armed under the same id by the step that fired it survives.
   */
  deleteTimer(tenant: string, timerId: string, dueAt?: number): Promise<void>;
  /**
   * Events of up to `limit` steps of a shard after its published watermark, in position order (whole steps
   * only, steps without events skipped).
   */
  unpublishedEvents(shard: number, limit: number): Promise<OutboxEvent[]>;
  /**
   * Advances each shard's published watermark to the position given (never back). Mark a position only
   * when every step of the shard before it with events is published too: the watermark covers them all.
   */
  markPublished(marks: readonly PublishedMark[]): Promise<void>;
}

export interface DirectoryStore {
  upsertEmployees(tenant: string, employees: readonly Employee[]): Promise<void>;
  upsertGroups(tenant: string, groups: readonly Group[]): Promise<void>;
  loadDirectory(tenant: string): Promise<{ employees: Employee[]; groups: Group[] }>;
}

export type AppMode = 'apply' | 'unapply' | 'pending';

export interface WorkflowRecord {
  id: string;
  tenant: string;
  app: string;
  name: string;
  /** The draft being edited (always the latest text). */
  draft: WorkflowDefinition;
  latestVersion: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface WorkflowVersion {
  workflowId: string;
  version: number;
  definition: WorkflowDefinition;
  /** sha256 of the canonical definition JSON. */
  contentHash: string;
  publishedAt: number;
  /** Who published it (absent on versions published before migration 007). */
  publishedBy?: string;
  /** The publisher's change-log message. */
  changeLog?: string;
}

/** What publishing records besides the definition. */
export interface PublishMetadata {
  publishedBy?: string;
  changeLog?: string;
}

export interface AppConfig {
  tenant: string;
  companyId: string;
  app: string;
  mode: AppMode;
  workflowId: string;
  /** Publishing a new version of the workflow migrates the previous version's running runtimes to it. */
  autoMigrate?: boolean;
}

export interface WorkflowStore {
  createWorkflow(tenant: string, id: string, definition: WorkflowDefinition, now: number): Promise<WorkflowRecord>;
  /** Replaces the draft; false when the workflow does not exist. */
  updateDraft(tenant: string, id: string, definition: WorkflowDefinition, now: number): Promise<boolean>;
  getWorkflow(tenant: string, id: string): Promise<WorkflowRecord | undefined>;
  listWorkflows(tenant: string, app?: string): Promise<WorkflowRecord[]>;
  /** Freezes the draft as the next immutable version (publishing an unchanged draft returns the latest version). */
  publish(tenant: string, id: string, now: number, meta?: PublishMetadata): Promise<WorkflowVersion | undefined>;
  getVersion(tenant: string, id: string, version: number): Promise<WorkflowVersion | undefined>;
  /** Every published version of the workflow, oldest first, without their definitions' text. */
  listVersions(tenant: string, id: string): Promise<Omit<WorkflowVersion, 'definition'>[]>;
  /** The app configs bound to the workflow (every company's). */
  appConfigsOf(tenant: string, workflowId: string): Promise<AppConfig[]>;
  setAppConfig(config: AppConfig): Promise<void>;
  /** The config for (tenant, company, app); companyId '' is the tenant-wide default. */
  getAppConfig(tenant: string, app: string, companyId: string): Promise<AppConfig | undefined>;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface InboxItem {
  runtimeId: string;
  app: string;
  docId: string;
  /** The runtime's pinned workflow version (what names its nodes): read with the task, so a page is one query. */
  workflowId: string;
  version: number;
  node: string;
  stage: number;
  status: 'open' | 'done' | 'skipped';
  assignedAt: number;
  dueAt?: number;
}

export interface RuntimeListFilter {
  app?: string;
  docId?: string;
  status?: string;
}

export interface StoredLogEntry {
  seq: number;
  at: number;
  actor: string;
  action: string;
  fromNode: string;
  toNode?: string;
  comment?: string;
  changes?: Record<string, [unknown, unknown]>;
  /** On the first entry of each step: what produced the step (absent on later entries and on rows older than migration 002). */
  command?: LoggedCommand;
}

/** The CQRS read side: what the gateway serves; never the actors. Keyset pagination. */
export interface ReadModel {
  getRuntime(tenant: string, runtimeId: string): Promise<RuntimeState | undefined>;
  listRuntimes(tenant: string, filter: RuntimeListFilter, limit: number, cursor?: string): Promise<Page<RuntimeState>>;
  runtimeLog(tenant: string, runtimeId: string): Promise<StoredLogEntry[]>;
  inbox(
    tenant: string,
    assignee: string,
    status: 'open' | 'done',
    limit: number,
    cursor?: string,
  ): Promise<Page<InboxItem>>;
}

/** Redis snapshot cache of runtime states: a cache only, never the source of truth. */
export interface SnapshotCache {
  get(tenant: string, runtimeId: string): Promise<RuntimeState | undefined>;
  /** Pipelined; a failure is counted and swallowed (Redis must never fail a command). */
  setMany(entries: readonly { tenant: string; state: RuntimeState }[]): Promise<void>;
  delete(tenant: string, runtimeId: string): Promise<void>;
  close(): Promise<void>;
}
