import { createHash } from 'node:crypto';
import {
  currentNode,
  inMemoryDirectory,
  migrate,
  validateMigration,
  type CompiledWorkflow,
  type EngineErrorDetail,
  type MigrationBlock,
} from '../engine/index.ts';
import {
  recordOutcome,
  type MigrationPlan,
  type MigrationPlanStore,
  type MigrationSample,
  type MigrationSpec,
} from '../store/migration-ports.ts';
import { ApiError } from './api-error.ts';
import type { ApiContext } from './routes/route-kit.ts';
import type { MigrationBody } from './schemas/migrations.ts';

/** Candidates read per page by a dry run. */
const DRY_RUN_PAGE = 500;

export interface DryRun {
  dryRun: true;
  candidates: number;
  migratable: number;
  blocked: Partial<Record<MigrationBlock, number>>;
  samples: Partial<Record<MigrationBlock | 'migrated', MigrationSample[]>>;
}

/** A plan that passed its static checks, with both versions compiled. */
export interface CheckedPlan {
  spec: MigrationSpec;
  from: CompiledWorkflow;
  to: CompiledWorkflow;
}

const invalid = (message: string, errors: EngineErrorDetail[]): ApiError =>
  new ApiError(422, 'validation_failed', message, errors);

/**
 * What the gateway does with a migration plan before an executor runs it (docs/api.md#migrations): the static
 * checks (422 naming each path, nothing stored), the dry run (the engine's `migrate` on every candidate's
 * state, nothing changed), and creating the plan.
 */
export class MigrationPlanner {
  constructor(
    private readonly ctx: ApiContext,
    private readonly plans: MigrationPlanStore,
  ) {}

  /** The plan's static checks: both versions exist in this workflow, and the mapping fits the nodes runtimes are open at. */
  async check(tenant: string, workflowId: string, body: MigrationBody): Promise<CheckedPlan> {
    const workflows = this.ctx.deps.workflows;
    if (body.toWorkflowId !== undefined && body.toWorkflowId !== workflowId)
      throw invalid('a plan moves runtimes between versions of their own workflow', [
        {
          path: 'toWorkflowId',
          message: `version ${body.toVersion} of ${body.toWorkflowId} is not a version of workflow ${workflowId}`,
        },
      ]);
    const [fromVersion, toVersion] = await Promise.all([
      workflows.getVersion(tenant, workflowId, body.fromVersion),
      workflows.getVersion(tenant, workflowId, body.toVersion),
    ]);
    const missing: EngineErrorDetail[] = [];
    if (!fromVersion)
      missing.push({ path: 'fromVersion', message: `workflow ${workflowId} has no version ${body.fromVersion}` });
    if (!toVersion)
      missing.push({ path: 'toVersion', message: `workflow ${workflowId} has no version ${body.toVersion}` });
    if (missing.length > 0) throw invalid('the plan names versions that do not exist', missing);
    const [from, to] = await Promise.all([
      this.ctx.compiled(tenant, workflowId, body.fromVersion),
      this.ctx.compiled(tenant, workflowId, body.toVersion),
    ]);
    const spec: MigrationSpec = {
      workflowId,
      fromVersion: body.fromVersion,
      toVersion: body.toVersion,
      nodeMap: body.nodeMap,
    };
    if (body.allowEndNodes !== undefined) spec.allowEndNodes = body.allowEndNodes;
    if (body.filter !== undefined && Object.keys(body.filter).length > 0) spec.filter = body.filter;
    const errors: EngineErrorDetail[] = [];
    const node = spec.filter?.node;
    if (node !== undefined && !from.nodes.has(node))
      errors.push({ path: 'filter.node', message: `version ${from.version} has no node "${node}"` });
    const occupied = await this.plans.occupiedNodes(tenant, workflowId, spec.fromVersion);
    const open = [...occupied.keys()].filter((n) => node === undefined || n === node);
    errors.push(...validateMigration(from, to, spec, open));
    if (errors.length > 0) throw invalid('the migration plan is invalid; nothing was changed', errors);
    return { spec, from, to };
  }

  /** What the plan would do now: each candidate through the engine's `migrate`, counted by outcome. */
  async dryRun(tenant: string, plan: CheckedPlan, actor: string): Promise<DryRun> {
    const { employees, groups } = await this.ctx.deps.directory.loadDirectory(tenant);
    const dir = inMemoryDirectory(employees, groups);
    const out: DryRun = { dryRun: true, candidates: 0, migratable: 0, blocked: {}, samples: {} };
    const cmd = { type: 'migrate' as const, planId: 'dry-run', actor, ...plan.spec };
    const now = this.ctx.now();
    for (let cursor = ''; ; ) {
      const page = await this.plans.candidates(tenant, plan.spec, cursor, DRY_RUN_PAGE);
      for (const { runtimeId, state } of page) {
        out.candidates++;
        const node = currentNode(state);
        const result = migrate(plan.from, plan.to, state, cmd, dir, now);
        if (result.ok) {
          out.migratable++;
          recordOutcome(out, undefined, { runtimeId, node });
        } else {
          recordOutcome(out, result.block, { runtimeId, node, message: result.message });
        }
      }
      if (page.length < DRY_RUN_PAGE) return out;
      cursor = page[page.length - 1]!.runtimeId;
    }
  }

  /**
   * Stores the plan as running: an executor picks it up within a second or so. `id` (derived from an
   * Idempotency-Key) names a plan that may exist already: then that plan is returned, `created: false`.
   */
  create(
    tenant: string,
    spec: MigrationSpec,
    createdBy: string,
    auto: boolean,
    id = this.ctx.newId(),
  ): Promise<{ created: boolean; plan: MigrationPlan }> {
    return this.plans.createPlan({ ...spec, id, tenant, auto, createdBy, createdAt: this.ctx.now() });
  }
}

/** With an Idempotency-Key the plan id is derived from it, so a repeat finds the first plan. */
export function planIdOf(key: string): string {
  return `mp_${createHash('sha256').update(key).digest('hex').slice(0, 32)}`;
}

/** Whether a stored plan is the one `body` asks for (a repeat with the same Idempotency-Key). */
export function samePlan(plan: MigrationPlan, body: MigrationBody): boolean {
  const canonical = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => x ?? undefined);
  return (
    plan.fromVersion === body.fromVersion &&
    plan.toVersion === body.toVersion &&
    (body.toWorkflowId === undefined || body.toWorkflowId === plan.workflowId) &&
    canonical(Object.entries(plan.nodeMap).sort()) === canonical(Object.entries(body.nodeMap).sort()) &&
    (plan.allowEndNodes ?? false) === (body.allowEndNodes ?? false) &&
    canonical(plan.filter ?? {}) === canonical(body.filter ?? {})
  );
}
