import type { Employee, Group, RuntimeState, WorkflowDefinition } from '../../engine/index.ts';
import type {
  AppConfig,
  CommitOutcome,
  DirectoryStore,
  DueTimer,
  InboxItem,
  OutboxEvent,
  PublishedMark,
  PublishMetadata,
  Page,
  ReadModel,
  RuntimeListFilter,
  RuntimeStore,
  StoredIdempotency,
  StoredLogEntry,
  TransitionRecord,
  TransitionWriter,
  WorkflowRecord,
  WorkflowStore,
  WorkflowVersion,
} from '../ports.ts';
import { MemoryAnalyticsReader } from './memory-analytics-reader.ts';
import { MemoryDirectoryStore } from './memory-directory-store.ts';
import { MemoryMigrationPlanStore } from './memory-migration-plan-store.ts';
import { MemoryReadModel } from './memory-read-model.ts';
import { MemoryRuntimeStore } from './memory-runtime-store.ts';
import { MemoryWorkflowStore } from './memory-workflow-store.ts';
import { MemoryWebhookStore } from './memory-webhook-store.ts';
import { MemoryNotificationStore } from './memory-notification-store.ts';
import { MemoryRetentionStore } from './memory-retention-store.ts';
import { MemoryTransitionWriter } from './memory-writer.ts';
import { MemoryTables, type MemoryStoreOptions } from './tables.ts';

/**
 * The embedded mode's durable store, in process: one object that is the
 * writer, runtime store, directory, workflow store and read model, over shared
 * tables. The parts are also reachable alone (`store.writer`, `store.read`, ...).
 *
 * @example
 * const store = new MemoryStore();
 * await store.commit({ tenant, shard, baseRevision: 0, state, effects });
 * const inbox = await store.inbox(tenant, 'emp-2', 'open', 50);
 */
export class MemoryStore implements TransitionWriter, RuntimeStore, DirectoryStore, WorkflowStore, ReadModel {
  readonly writer: MemoryTransitionWriter;
  readonly runtimes: MemoryRuntimeStore;
  readonly directory: MemoryDirectoryStore;
  readonly workflows: MemoryWorkflowStore;
  readonly read: MemoryReadModel;
  /** Webhook registrations (WebhookStore). */
  readonly webhooks = new MemoryWebhookStore();
  readonly notifications = new MemoryNotificationStore();
  /** Migration plans (MigrationPlanStore). */
  readonly migrations: MemoryMigrationPlanStore;
  /** Retention's batches and the tenants' policies (RetentionStore). */
  readonly retention: MemoryRetentionStore;
  /** The analytics read over the runtimes (AnalyticsReader). */
  readonly analytics: MemoryAnalyticsReader;
  /** The tables themselves: for tests that stage what MySQL could hold (a projection behind the log). */
  readonly tables: MemoryTables;

  constructor(options: MemoryStoreOptions = {}) {
    const tables = new MemoryTables(options);
    this.tables = tables;
    this.writer = new MemoryTransitionWriter(tables);
    this.runtimes = new MemoryRuntimeStore(tables);
    this.directory = new MemoryDirectoryStore(tables);
    this.workflows = new MemoryWorkflowStore(tables);
    this.read = new MemoryReadModel(tables);
    this.analytics = new MemoryAnalyticsReader(tables);
    this.migrations = new MemoryMigrationPlanStore(tables);
    this.retention = new MemoryRetentionStore(tables);
  }

  // TransitionWriter
  commit(record: TransitionRecord): Promise<CommitOutcome> {
    return this.writer.commit(record);
  }
  flush(): Promise<void> {
    return this.writer.flush();
  }
  close(): Promise<void> {
    return this.writer.close();
  }

  // RuntimeStore
  loadRuntime(tenant: string, runtimeId: string): Promise<RuntimeState | undefined> {
    return this.runtimes.loadRuntime(tenant, runtimeId);
  }
  findActiveRuntime(tenant: string, app: string, docId: string): Promise<RuntimeState | undefined> {
    return this.runtimes.findActiveRuntime(tenant, app, docId);
  }
  findIdempotency(tenant: string, key: string): Promise<StoredIdempotency | undefined> {
    return this.runtimes.findIdempotency(tenant, key);
  }
  dueTimers(shard: number, now: number, limit: number): Promise<DueTimer[]> {
    return this.runtimes.dueTimers(shard, now, limit);
  }
  shardsWithDueTimers(shards: readonly number[], now: number): Promise<number[]> {
    return this.runtimes.shardsWithDueTimers(shards, now);
  }
  deleteTimer(tenant: string, timerId: string, dueAt?: number): Promise<void> {
    return this.runtimes.deleteTimer(tenant, timerId, dueAt);
  }
  unpublishedEvents(shard: number, limit: number): Promise<OutboxEvent[]> {
    return this.runtimes.unpublishedEvents(shard, limit);
  }
  markPublished(marks: readonly PublishedMark[]): Promise<void> {
    return this.runtimes.markPublished(marks);
  }

  // DirectoryStore
  upsertEmployees(tenant: string, employees: readonly Employee[]): Promise<void> {
    return this.directory.upsertEmployees(tenant, employees);
  }
  upsertGroups(tenant: string, groups: readonly Group[]): Promise<void> {
    return this.directory.upsertGroups(tenant, groups);
  }
  loadDirectory(tenant: string): Promise<{ employees: Employee[]; groups: Group[] }> {
    return this.directory.loadDirectory(tenant);
  }

  // WorkflowStore
  createWorkflow(tenant: string, id: string, definition: WorkflowDefinition, now: number): Promise<WorkflowRecord> {
    return this.workflows.createWorkflow(tenant, id, definition, now);
  }
  updateDraft(tenant: string, id: string, definition: WorkflowDefinition, now: number): Promise<boolean> {
    return this.workflows.updateDraft(tenant, id, definition, now);
  }
  getWorkflow(tenant: string, id: string): Promise<WorkflowRecord | undefined> {
    return this.workflows.getWorkflow(tenant, id);
  }
  listWorkflows(tenant: string, app?: string): Promise<WorkflowRecord[]> {
    return this.workflows.listWorkflows(tenant, app);
  }
  publish(tenant: string, id: string, now: number, meta?: PublishMetadata): Promise<WorkflowVersion | undefined> {
    return this.workflows.publish(tenant, id, now, meta);
  }
  listVersions(tenant: string, id: string): Promise<Omit<WorkflowVersion, 'definition'>[]> {
    return this.workflows.listVersions(tenant, id);
  }
  appConfigsOf(tenant: string, workflowId: string): Promise<AppConfig[]> {
    return this.workflows.appConfigsOf(tenant, workflowId);
  }
  getVersion(tenant: string, id: string, version: number): Promise<WorkflowVersion | undefined> {
    return this.workflows.getVersion(tenant, id, version);
  }
  setAppConfig(config: AppConfig): Promise<void> {
    return this.workflows.setAppConfig(config);
  }
  getAppConfig(tenant: string, app: string, companyId: string): Promise<AppConfig | undefined> {
    return this.workflows.getAppConfig(tenant, app, companyId);
  }

  // ReadModel
  getRuntime(tenant: string, runtimeId: string): Promise<RuntimeState | undefined> {
    return this.read.getRuntime(tenant, runtimeId);
  }
  listRuntimes(tenant: string, filter: RuntimeListFilter, limit: number, cursor?: string): Promise<Page<RuntimeState>> {
    return this.read.listRuntimes(tenant, filter, limit, cursor);
  }
  runtimeLog(tenant: string, runtimeId: string): Promise<StoredLogEntry[]> {
    return this.read.runtimeLog(tenant, runtimeId);
  }
  inbox(
    tenant: string,
    assignee: string,
    status: 'open' | 'done',
    limit: number,
    cursor?: string,
  ): Promise<Page<InboxItem>> {
    return this.read.inbox(tenant, assignee, status, limit, cursor);
  }
}
