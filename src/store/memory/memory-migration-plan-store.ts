import { currentNode, type NodeId } from '../../engine/index.ts';
import {
  emptyProgress,
  migrationKey,
  type MigrationCandidate,
  type MigrationPlan,
  type MigrationPlanStore,
  type MigrationProgress,
  type MigrationSpec,
  type NewMigrationPlan,
} from '../migration-ports.ts';
import { key, type MemoryTables } from './tables.ts';

const ACTIVE = new Set(['created', 'in_progress']);

/** The twin of the MySQL migration plan store: plans and leases in a map, candidates from the twin's runtimes. */
export class MemoryMigrationPlanStore implements MigrationPlanStore {
  private readonly plans = new Map<string, MigrationPlan>();

  constructor(private readonly t: MemoryTables) {}

  async createPlan(plan: NewMigrationPlan): Promise<{ created: boolean; plan: MigrationPlan }> {
    const existing = this.plans.get(key(plan.tenant, plan.id));
    if (existing) return { created: false, plan: structuredClone(existing) };
    const stored: MigrationPlan = {
      ...structuredClone(plan),
      status: 'running',
      cursor: '',
      progress: emptyProgress(),
      leaseUntil: 0,
      updatedAt: plan.createdAt,
    };
    this.plans.set(key(plan.tenant, plan.id), stored);
    return { created: true, plan: structuredClone(stored) };
  }

  async getPlan(tenant: string, id: string): Promise<MigrationPlan | undefined> {
    const plan = this.plans.get(key(tenant, id));
    return plan && structuredClone(plan);
  }

  async listPlans(tenant: string, workflowId: string): Promise<MigrationPlan[]> {
    return [...this.plans.values()]
      .filter((p) => p.tenant === tenant && p.workflowId === workflowId)
      .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1))
      .map((p) => structuredClone(p));
  }

  async claimPlan(owner: string, now: number, leaseMs: number): Promise<MigrationPlan | undefined> {
    const free = [...this.plans.values()]
      .filter((p) => p.status === 'running' && (p.leaseUntil < now || p.owner === owner))
      .sort((a, b) => a.createdAt - b.createdAt);
    const plan = free[0];
    if (!plan) return undefined;
    Object.assign(plan, { owner, leaseUntil: now + leaseMs, updatedAt: now });
    return structuredClone(plan);
  }

  async saveProgress(
    ref: Pick<MigrationPlan, 'tenant' | 'id'>,
    owner: string,
    cursor: string,
    progress: MigrationProgress,
    now: number,
    leaseMs: number,
  ): Promise<boolean> {
    const plan = this.held(ref, owner);
    if (!plan) return false;
    Object.assign(plan, { cursor, progress: structuredClone(progress), leaseUntil: now + leaseMs, updatedAt: now });
    return true;
  }

  async finishPlan(
    ref: Pick<MigrationPlan, 'tenant' | 'id'>,
    owner: string,
    progress: MigrationProgress,
    now: number,
  ): Promise<boolean> {
    const plan = this.held(ref, owner);
    if (!plan) return false;
    Object.assign(plan, {
      status: 'completed',
      progress: structuredClone(progress),
      leaseUntil: 0,
      updatedAt: now,
      finishedAt: now,
    });
    return true;
  }

  async cancelPlan(tenant: string, id: string, now: number): Promise<MigrationPlan | undefined> {
    const plan = this.plans.get(key(tenant, id));
    if (plan?.status === 'running')
      Object.assign(plan, { status: 'cancelled', leaseUntil: 0, updatedAt: now, finishedAt: now });
    return plan && structuredClone(plan);
  }

  async candidates(
    tenant: string,
    spec: Pick<MigrationSpec, 'workflowId' | 'fromVersion' | 'filter'>,
    afterId: string,
    limit: number,
  ): Promise<MigrationCandidate[]> {
    const ids = this.t.tenantRuntimeIds(tenant).after(afterId === '' ? undefined : afterId, limit, (id) => {
      const state = this.t.runtimes.get(key(tenant, id))?.state;
      if (!state || state.runtime.workflowId !== spec.workflowId || state.runtime.version !== spec.fromVersion)
        return false;
      const { status, node } = spec.filter ?? {};
      if (status !== undefined ? state.status !== status : !ACTIVE.has(state.status)) return false;
      return node === undefined || currentNode(state) === node;
    });
    return ids.map((id) => ({ runtimeId: id, state: structuredClone(this.t.runtimes.get(key(tenant, id))!.state) }));
  }

  async occupiedNodes(tenant: string, workflowId: string, version: number): Promise<Map<NodeId, number>> {
    const out = new Map<NodeId, number>();
    for (const { state } of this.t.runtimes.values()) {
      const rt = state.runtime;
      if (rt.tenant !== tenant || rt.workflowId !== workflowId || rt.version !== version) continue;
      if (!ACTIVE.has(state.status)) continue;
      const node = currentNode(state);
      out.set(node, (out.get(node) ?? 0) + 1);
    }
    return out;
  }

  async countMigrated(tenant: string, planId: string): Promise<number> {
    const prefix = key(tenant, migrationKey(planId, ''));
    let n = 0;
    for (const k of this.t.idempotency.keys()) if (k.startsWith(prefix)) n++;
    return n;
  }

  private held(ref: Pick<MigrationPlan, 'tenant' | 'id'>, owner: string): MigrationPlan | undefined {
    const plan = this.plans.get(key(ref.tenant, ref.id));
    return plan?.status === 'running' && plan.owner === owner ? plan : undefined;
  }
}
