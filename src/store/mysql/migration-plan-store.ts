import type mysql from 'mysql2/promise';
import type { NodeId } from '../../engine/index.ts';
import {
  emptyProgress,
  migrationKey,
  type MigrationCandidate,
  type MigrationPlan,
  type MigrationPlanStatus,
  type MigrationPlanStore,
  type MigrationProgress,
  type MigrationSpec,
  type NewMigrationPlan,
} from '../migration-ports.ts';
import {
  num,
  optNum,
  optStr,
  readJson,
  sqlContext,
  str,
  type MySqlRepositoryOptions,
  type Row,
  type SqlContext,
} from './sql.ts';
import { openState } from './sealed-columns.ts';

const COLUMNS =
  'tenant, id, workflow_id, from_version, to_version, spec, status, auto, created_by, cursor_id, progress, owner, lease_until, created_at, updated_at, finished_at';

/** What `spec` stores (the rest of MigrationSpec has columns). */
type StoredSpec = Pick<MigrationSpec, 'nodeMap' | 'allowEndNodes' | 'filter'>;

/** Migration plans, their executor leases and their reads over the runtimes, on MySQL (migration 007). */
export class MySqlMigrationPlanStore implements MigrationPlanStore {
  private readonly ctx: SqlContext;

  constructor(pool: mysql.Pool, options: MySqlRepositoryOptions = {}) {
    this.ctx = sqlContext(pool, options);
  }

  async createPlan(plan: NewMigrationPlan): Promise<{ created: boolean; plan: MigrationPlan }> {
    const spec: StoredSpec = { nodeMap: plan.nodeMap };
    if (plan.allowEndNodes !== undefined) spec.allowEndNodes = plan.allowEndNodes;
    if (plan.filter !== undefined) spec.filter = plan.filter;
    const progress = emptyProgress();
    const result = await this.ctx.exec(
      `INSERT IGNORE INTO migration_plans (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?, '', ?, NULL, 0, ?, ?, NULL)`,
      [
        plan.tenant,
        plan.id,
        plan.workflowId,
        plan.fromVersion,
        plan.toVersion,
        JSON.stringify(spec),
        plan.auto ? 1 : 0,
        plan.createdBy,
        JSON.stringify(progress),
        plan.createdAt,
        plan.createdAt,
      ],
    );
    if (result.affectedRows === 0) {
      const existing = await this.getPlan(plan.tenant, plan.id);
      if (existing) return { created: false, plan: existing };
    }
    const created: MigrationPlan = {
      ...plan,
      status: 'running',
      cursor: '',
      progress,
      leaseUntil: 0,
      updatedAt: plan.createdAt,
    };
    return { created: true, plan: created };
  }

  async getPlan(tenant: string, id: string): Promise<MigrationPlan | undefined> {
    const rows = await this.ctx.select(`SELECT ${COLUMNS} FROM migration_plans WHERE tenant = ? AND id = ?`, [
      tenant,
      id,
    ]);
    return rows[0] ? toPlan(rows[0]) : undefined;
  }

  async listPlans(tenant: string, workflowId: string): Promise<MigrationPlan[]> {
    const rows = await this.ctx.select(
      `SELECT ${COLUMNS} FROM migration_plans WHERE tenant = ? AND workflow_id = ? ORDER BY created_at DESC, id DESC`,
      [tenant, workflowId],
    );
    return rows.map(toPlan);
  }

  async claimPlan(owner: string, now: number, leaseMs: number): Promise<MigrationPlan | undefined> {
    const free = await this.ctx.select(
      `SELECT tenant, id FROM migration_plans WHERE status = 'running' AND (lease_until < ? OR owner = ?)
       ORDER BY created_at, tenant, id LIMIT 5`,
      [now, owner],
    );
    for (const row of free) {
      // The conditional update is the claim: of two executors reading the same free plan, one changes the row.
      const result = await this.ctx.exec(
        `UPDATE migration_plans SET owner = ?, lease_until = ?, updated_at = ?
         WHERE tenant = ? AND id = ? AND status = 'running' AND (lease_until < ? OR owner = ?)`,
        [owner, now + leaseMs, now, row.tenant, row.id, now, owner],
      );
      if (result.affectedRows === 1) return this.getPlan(str(row.tenant), str(row.id));
    }
    return undefined;
  }

  async saveProgress(
    plan: Pick<MigrationPlan, 'tenant' | 'id'>,
    owner: string,
    cursor: string,
    progress: MigrationProgress,
    now: number,
    leaseMs: number,
  ): Promise<boolean> {
    const result = await this.ctx.exec(
      `UPDATE migration_plans SET cursor_id = ?, progress = ?, lease_until = ?, updated_at = ?
       WHERE tenant = ? AND id = ? AND status = 'running' AND owner = ?`,
      [cursor, JSON.stringify(progress), now + leaseMs, now, plan.tenant, plan.id, owner],
    );
    return result.affectedRows === 1;
  }

  async finishPlan(
    plan: Pick<MigrationPlan, 'tenant' | 'id'>,
    owner: string,
    progress: MigrationProgress,
    now: number,
  ): Promise<boolean> {
    const result = await this.ctx.exec(
      `UPDATE migration_plans SET status = 'completed', progress = ?, lease_until = 0, updated_at = ?, finished_at = ?
       WHERE tenant = ? AND id = ? AND status = 'running' AND owner = ?`,
      [JSON.stringify(progress), now, now, plan.tenant, plan.id, owner],
    );
    return result.affectedRows === 1;
  }

  async cancelPlan(tenant: string, id: string, now: number): Promise<MigrationPlan | undefined> {
    await this.ctx.exec(
      `UPDATE migration_plans SET status = 'cancelled', lease_until = 0, updated_at = ?, finished_at = ?
       WHERE tenant = ? AND id = ? AND status = 'running'`,
      [now, now, tenant, id],
    );
    return this.getPlan(tenant, id);
  }

  async candidates(
    tenant: string,
    spec: Pick<MigrationSpec, 'workflowId' | 'fromVersion' | 'filter'>,
    afterId: string,
    limit: number,
  ): Promise<MigrationCandidate[]> {
    const where = ['tenant = ?', 'workflow_id = ?', 'version = ?', 'id > ?'];
    const values: unknown[] = [tenant, spec.workflowId, spec.fromVersion, afterId];
    if (spec.filter?.status !== undefined) {
      where.push('status = ?');
      values.push(spec.filter.status);
    } else where.push("status IN ('created', 'in_progress')");
    if (spec.filter?.node !== undefined) {
      where.push('current_node = ?');
      values.push(spec.filter.node);
    }
    const rows = await this.ctx.select(
      `SELECT id, state FROM runtimes WHERE ${where.join(' AND ')} ORDER BY id LIMIT ?`,
      [...values, limit],
    );
    return Promise.all(
      rows.map(async (r) => ({
        runtimeId: str(r.id),
        state: await openState(this.ctx.cipher, tenant, str(r.id), r.state),
      })),
    );
  }

  async occupiedNodes(tenant: string, workflowId: string, version: number): Promise<Map<NodeId, number>> {
    const rows = await this.ctx.select(
      `SELECT current_node, COUNT(*) AS n FROM runtimes
       WHERE tenant = ? AND workflow_id = ? AND version = ? AND status IN ('created', 'in_progress') GROUP BY current_node`,
      [tenant, workflowId, version],
    );
    return new Map(rows.map((r) => [str(r.current_node), num(r.n)]));
  }

  async countMigrated(tenant: string, planId: string): Promise<number> {
    const prefix = migrationKey(planId, '');
    const rows = await this.ctx.select(
      'SELECT COUNT(*) AS n FROM runtime_steps WHERE tenant = ? AND idem_key >= ? AND idem_key < ?',
      [tenant, prefix, `${prefix}\u{10FFFF}`],
    );
    return num(rows[0]?.n ?? 0);
  }
}

function toPlan(r: Row): MigrationPlan {
  const spec = readJson<StoredSpec>(r.spec);
  const plan: MigrationPlan = {
    id: str(r.id),
    tenant: str(r.tenant),
    workflowId: str(r.workflow_id),
    fromVersion: num(r.from_version),
    toVersion: num(r.to_version),
    nodeMap: spec.nodeMap,
    status: str(r.status) as MigrationPlanStatus,
    auto: num(r.auto) === 1,
    createdBy: str(r.created_by),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
    cursor: str(r.cursor_id),
    progress: readJson<MigrationProgress>(r.progress),
    leaseUntil: num(r.lease_until),
  };
  if (spec.allowEndNodes !== undefined) plan.allowEndNodes = spec.allowEndNodes;
  if (spec.filter !== undefined) plan.filter = spec.filter;
  const owner = optStr(r.owner);
  if (owner !== undefined) plan.owner = owner;
  const finishedAt = optNum(r.finished_at);
  if (finishedAt !== undefined) plan.finishedAt = finishedAt;
  return plan;
}
