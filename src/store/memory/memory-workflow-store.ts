import type { WorkflowDefinition } from '../../engine/index.ts';
import { contentHash } from '../content-hash.ts';
import { StoreError } from '../errors.ts';
import type { AppConfig, PublishMetadata, WorkflowRecord, WorkflowStore, WorkflowVersion } from '../ports.ts';
import { compareStrings } from './sorted-list.ts';
import { key, type MemoryTables } from './tables.ts';

const copy = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/** The twin of the MySQL workflow store: drafts, immutable versions by content hash, app configs. */
export class MemoryWorkflowStore implements WorkflowStore {
  constructor(private readonly t: MemoryTables) {}

  async createWorkflow(
    tenant: string,
    id: string,
    definition: WorkflowDefinition,
    now: number,
  ): Promise<WorkflowRecord> {
    if (this.t.workflows.has(key(tenant, id))) throw new StoreError('invalid_record', `workflow ${id} already exists`);
    const record: WorkflowRecord = {
      id,
      tenant,
      app: definition.app,
      name: definition.name,
      draft: copy(definition),
      latestVersion: null,
      createdAt: now,
      updatedAt: now,
    };
    this.t.workflows.set(key(tenant, id), record);
    return structuredClone(record);
  }

  async updateDraft(tenant: string, id: string, definition: WorkflowDefinition, now: number): Promise<boolean> {
    const record = this.t.workflows.get(key(tenant, id));
    if (!record) return false;
    Object.assign(record, { app: definition.app, name: definition.name, draft: copy(definition), updatedAt: now });
    return true;
  }

  async getWorkflow(tenant: string, id: string): Promise<WorkflowRecord | undefined> {
    const record = this.t.workflows.get(key(tenant, id));
    return record && structuredClone(record);
  }

  async listWorkflows(tenant: string, app?: string): Promise<WorkflowRecord[]> {
    const out: WorkflowRecord[] = [];
    for (const record of this.t.workflows.values()) {
      if (record.tenant === tenant && (app === undefined || record.app === app)) out.push(structuredClone(record));
    }
    return out.sort((a, b) => compareStrings(a.id, b.id));
  }

  async publish(
    tenant: string,
    id: string,
    now: number,
    meta: PublishMetadata = {},
  ): Promise<WorkflowVersion | undefined> {
    const record = this.t.workflows.get(key(tenant, id));
    if (!record) return undefined;
    const hash = contentHash(record.draft);
    const latest =
      record.latestVersion === null ? undefined : this.t.versions.get(key(tenant, id, record.latestVersion));
    if (latest?.contentHash === hash) return structuredClone(latest);
    const version: WorkflowVersion = {
      workflowId: id,
      version: (record.latestVersion ?? 0) + 1,
      definition: copy(record.draft),
      contentHash: hash,
      publishedAt: now,
      ...(meta.publishedBy !== undefined && { publishedBy: meta.publishedBy }),
      ...(meta.changeLog !== undefined && { changeLog: meta.changeLog }),
    };
    this.t.versions.set(key(tenant, id, version.version), version);
    record.latestVersion = version.version;
    return structuredClone(version);
  }

  async getVersion(tenant: string, id: string, version: number): Promise<WorkflowVersion | undefined> {
    const stored = this.t.versions.get(key(tenant, id, version));
    return stored && structuredClone(stored);
  }

  async listVersions(tenant: string, id: string): Promise<Omit<WorkflowVersion, 'definition'>[]> {
    const latest = this.t.workflows.get(key(tenant, id))?.latestVersion ?? 0;
    const out: Omit<WorkflowVersion, 'definition'>[] = [];
    for (let v = 1; v <= latest; v++) {
      const stored = this.t.versions.get(key(tenant, id, v));
      if (stored) {
        const { definition: _d, ...rest } = stored;
        out.push({ ...rest });
      }
    }
    return out;
  }

  async setAppConfig(config: AppConfig): Promise<void> {
    const { tenant, companyId, app, mode, workflowId, autoMigrate = false } = config;
    this.t.appConfigs.set(key(tenant, companyId, app), { tenant, companyId, app, mode, workflowId, autoMigrate });
  }

  async appConfigsOf(tenant: string, workflowId: string): Promise<AppConfig[]> {
    return [...this.t.appConfigs.values()]
      .filter((c) => c.tenant === tenant && c.workflowId === workflowId)
      .map((c) => ({ ...c }));
  }

  async getAppConfig(tenant: string, app: string, companyId: string): Promise<AppConfig | undefined> {
    const config = this.t.appConfigs.get(key(tenant, companyId, app));
    return config && { ...config };
  }
}
