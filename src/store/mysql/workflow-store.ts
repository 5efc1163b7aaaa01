import type mysql from 'mysql2/promise';
import type { WorkflowDefinition } from '../../engine/index.ts';
import { contentHash } from '../content-hash.ts';
import { StoreError } from '../errors.ts';
import type { AppConfig, AppMode, PublishMetadata, WorkflowRecord, WorkflowStore, WorkflowVersion } from '../ports.ts';
import { ENCRYPTED, pairId } from '../crypto/encrypted-columns.ts';
import {
  execute,
  inTransaction,
  num,
  openJsonColumn,
  optNum,
  optStr,
  sealJsonColumn,
  selectRows,
  sqlContext,
  str,
  type MySqlRepositoryOptions,
  type Queryable,
  type Row,
  type SqlContext,
} from './sql.ts';

const WORKFLOW_COLUMNS = 'tenant, id, app, name, draft, latest_version, created_at, updated_at';
const VERSION_COLUMNS = 'workflow_id, version, definition, content_hash, published_at, published_by, change_log';
const APP_CONFIG_COLUMNS = 'tenant, company_id, app, mode, workflow_id, auto_migrate';

/** Workflow drafts, immutable published versions and app configs over MySQL. */
export class MySqlWorkflowStore implements WorkflowStore {
  private readonly ctx: SqlContext;

  constructor(pool: mysql.Pool, options: MySqlRepositoryOptions = {}) {
    this.ctx = sqlContext(pool, options);
  }

  async createWorkflow(
    tenant: string,
    id: string,
    definition: WorkflowDefinition,
    now: number,
  ): Promise<WorkflowRecord> {
    const draft = await this.seal(tenant, ENCRYPTED.workflowDraft, id, definition);
    try {
      await this.ctx.exec(
        'INSERT INTO workflows (tenant, id, app, name, draft, latest_version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, NULL, ?, ?)',
        [tenant, id, definition.app, definition.name, draft, now, now],
      );
    } catch (err) {
      if ((err as { code?: string }).code === 'ER_DUP_ENTRY') {
        throw new StoreError('invalid_record', `workflow ${id} already exists`, { cause: err });
      }
      throw err;
    }
    return {
      id,
      tenant,
      app: definition.app,
      name: definition.name,
      draft: definition,
      latestVersion: null,
      createdAt: now,
      updatedAt: now,
    };
  }

  async updateDraft(tenant: string, id: string, definition: WorkflowDefinition, now: number): Promise<boolean> {
    const draft = await this.seal(tenant, ENCRYPTED.workflowDraft, id, definition);
    const result = await this.ctx.exec(
      'UPDATE workflows SET app = ?, name = ?, draft = ?, updated_at = ? WHERE tenant = ? AND id = ?',
      [definition.app, definition.name, draft, now, tenant, id],
    );
    return result.affectedRows > 0;
  }

  async getWorkflow(tenant: string, id: string): Promise<WorkflowRecord | undefined> {
    const rows = await this.select(
      this.ctx.db,
      `SELECT ${WORKFLOW_COLUMNS} FROM workflows WHERE tenant = ? AND id = ?`,
      [tenant, id],
    );
    return rows[0] ? this.toWorkflow(rows[0]) : undefined;
  }

  async listWorkflows(tenant: string, app?: string): Promise<WorkflowRecord[]> {
    const rows =
      app === undefined
        ? await this.select(this.ctx.db, `SELECT ${WORKFLOW_COLUMNS} FROM workflows WHERE tenant = ? ORDER BY id`, [
            tenant,
          ])
        : await this.select(
            this.ctx.db,
            `SELECT ${WORKFLOW_COLUMNS} FROM workflows WHERE tenant = ? AND app = ? ORDER BY id`,
            [tenant, app],
          );
    return Promise.all(rows.map((r) => this.toWorkflow(r)));
  }

  /** Locks the workflow row so concurrent publishes of one workflow serialise and never reuse a version number. */
  async publish(
    tenant: string,
    id: string,
    now: number,
    meta: PublishMetadata = {},
  ): Promise<WorkflowVersion | undefined> {
    return inTransaction(this.ctx, async (conn) => {
      const rows = await this.select(
        conn,
        'SELECT draft, latest_version FROM workflows WHERE tenant = ? AND id = ? FOR UPDATE',
        [tenant, id],
      );
      const row = rows[0];
      if (!row) return undefined;
      const definition = await openJsonColumn<WorkflowDefinition>(
        this.ctx.cipher,
        tenant,
        ENCRYPTED.workflowDraft,
        id,
        row.draft,
      );
      const hash = contentHash(definition);
      const latest = optNum(row.latest_version);
      if (latest !== undefined) {
        const current = await this.versionRow(conn, tenant, id, latest);
        if (current?.contentHash === hash) return current;
      }
      const version: WorkflowVersion = {
        workflowId: id,
        version: (latest ?? 0) + 1,
        definition,
        contentHash: hash,
        publishedAt: now,
      };
      if (meta.publishedBy !== undefined) version.publishedBy = meta.publishedBy;
      if (meta.changeLog !== undefined) version.changeLog = meta.changeLog;
      await execute(
        conn,
        this.ctx.timeout,
        'INSERT INTO workflow_versions (tenant, workflow_id, version, definition, content_hash, published_at, published_by, change_log) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        [
          tenant,
          id,
          version.version,
          await this.seal(tenant, ENCRYPTED.versionDefinition, pairId(id, version.version), definition),
          hash,
          now,
          meta.publishedBy ?? null,
          meta.changeLog ?? null,
        ],
      );
      await execute(conn, this.ctx.timeout, 'UPDATE workflows SET latest_version = ? WHERE tenant = ? AND id = ?', [
        version.version,
        tenant,
        id,
      ]);
      return version;
    });
  }

  getVersion(tenant: string, id: string, version: number): Promise<WorkflowVersion | undefined> {
    return this.versionRow(this.ctx.db, tenant, id, version);
  }

  async listVersions(tenant: string, id: string): Promise<Omit<WorkflowVersion, 'definition'>[]> {
    const rows = await this.select(
      this.ctx.db,
      'SELECT workflow_id, version, content_hash, published_at, published_by, change_log FROM workflow_versions WHERE tenant = ? AND workflow_id = ? ORDER BY version',
      [tenant, id],
    );
    return rows.map(versionMeta);
  }

  async setAppConfig(config: AppConfig): Promise<void> {
    await this.ctx.exec(
      'INSERT INTO app_configs (tenant, company_id, app, mode, workflow_id, auto_migrate, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ' +
        'ON DUPLICATE KEY UPDATE mode = VALUES(mode), workflow_id = VALUES(workflow_id), auto_migrate = VALUES(auto_migrate), updated_at = VALUES(updated_at)',
      [
        config.tenant,
        config.companyId,
        config.app,
        config.mode,
        config.workflowId,
        config.autoMigrate === true ? 1 : 0,
        this.ctx.now(),
      ],
    );
  }

  async getAppConfig(tenant: string, app: string, companyId: string): Promise<AppConfig | undefined> {
    const rows = await this.select(
      this.ctx.db,
      `SELECT ${APP_CONFIG_COLUMNS} FROM app_configs WHERE tenant = ? AND company_id = ? AND app = ?`,
      [tenant, companyId, app],
    );
    return rows[0] ? toAppConfig(rows[0]) : undefined;
  }

  async appConfigsOf(tenant: string, workflowId: string): Promise<AppConfig[]> {
    const rows = await this.select(
      this.ctx.db,
      `SELECT ${APP_CONFIG_COLUMNS} FROM app_configs WHERE tenant = ? AND workflow_id = ? ORDER BY company_id, app`,
      [tenant, workflowId],
    );
    return rows.map(toAppConfig);
  }

  private async versionRow(
    db: Queryable,
    tenant: string,
    id: string,
    version: number,
  ): Promise<WorkflowVersion | undefined> {
    const rows = await this.select(
      db,
      `SELECT ${VERSION_COLUMNS} FROM workflow_versions WHERE tenant = ? AND workflow_id = ? AND version = ?`,
      [tenant, id, version],
    );
    return rows[0] ? this.toVersion(tenant, rows[0]) : undefined;
  }

  /** The JSON column's stored form of `value` (sealed: docs/security.md). */
  private async seal(tenant: string, column: string, rowId: string, value: unknown): Promise<string> {
    await this.ctx.cipher.ready([tenant]);
    return sealJsonColumn(this.ctx.cipher, tenant, column, rowId, value);
  }

  private async toWorkflow(r: Row): Promise<WorkflowRecord> {
    const tenant = str(r.tenant);
    const id = str(r.id);
    return {
      id,
      tenant,
      app: str(r.app),
      name: str(r.name),
      draft: await openJsonColumn<WorkflowDefinition>(this.ctx.cipher, tenant, ENCRYPTED.workflowDraft, id, r.draft),
      latestVersion: optNum(r.latest_version) ?? null,
      createdAt: num(r.created_at),
      updatedAt: num(r.updated_at),
    };
  }

  private async toVersion(tenant: string, r: Row): Promise<WorkflowVersion> {
    const workflowId = str(r.workflow_id);
    const version = num(r.version);
    return {
      ...versionMeta(r),
      definition: await openJsonColumn<WorkflowDefinition>(
        this.ctx.cipher,
        tenant,
        ENCRYPTED.versionDefinition,
        pairId(workflowId, version),
        r.definition,
      ),
    };
  }

  private select(db: Queryable, sql: string, values: unknown[]): Promise<Row[]> {
    return selectRows(db, this.ctx.timeout, sql, values);
  }
}

function versionMeta(r: Row): Omit<WorkflowVersion, 'definition'> {
  const v: Omit<WorkflowVersion, 'definition'> = {
    workflowId: str(r.workflow_id),
    version: num(r.version),
    contentHash: str(r.content_hash),
    publishedAt: num(r.published_at),
  };
  const by = optStr(r.published_by);
  if (by !== undefined) v.publishedBy = by;
  const changeLog = optStr(r.change_log);
  if (changeLog !== undefined) v.changeLog = changeLog;
  return v;
}

function toAppConfig(r: Row): AppConfig {
  return {
    tenant: str(r.tenant),
    companyId: str(r.company_id),
    app: str(r.app),
    mode: str(r.mode) as AppMode,
    workflowId: str(r.workflow_id),
    autoMigrate: num(r.auto_migrate) === 1,
  };
}
