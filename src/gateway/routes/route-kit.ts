import { WorkflowCache } from '../../actors/runtime-host/index.ts';
import type { CompiledWorkflow, RuntimeState, Viewer } from '../../engine/index.ts';
import { StoreError } from '../../store/errors.ts';
import { ApiError } from '../api-error.ts';
import type { CompiledVersions, GatewayDeps } from '../gateway-deps.ts';
import type { Principal } from '../gateway-env.ts';
import { runtimeView } from '../runtime-view.ts';
import type { RuntimeView } from '../schemas/runtimes.ts';

/** Compiled workflow versions kept by the gateway (views, inbox titles). */
const COMPILED_VERSIONS = 1_000;

/** What every route group uses: the deps, with defaults applied, and the compiled-version cache. */
export class ApiContext {
  readonly now: () => number;
  readonly newId: () => string;
  private readonly versions: CompiledVersions;

  constructor(readonly deps: GatewayDeps) {
    this.now = deps.now ?? Date.now;
    this.newId = deps.newId ?? (() => crypto.randomUUID());
    this.versions = deps.compiledVersions ?? new WorkflowCache(deps.workflows, COMPILED_VERSIONS);
  }

  /** The version a runtime is pinned to; its absence is a broken invariant (500). */
  async compiled(tenant: string, workflowId: string, version: number): Promise<CompiledWorkflow> {
    const wf = await this.versions.get(tenant, workflowId, version);
    if (!wf) throw new Error(`workflow ${workflowId}@${version} of tenant ${tenant} is missing`);
    return wf;
  }

  async view(state: RuntimeState, principal: Principal): Promise<RuntimeView> {
    const wf = await this.compiled(principal.tenant, state.runtime.workflowId, state.runtime.version);
    return runtimeView(wf, state, viewerOf(principal));
  }
}

export function viewerOf(principal: Principal): Viewer {
  return { employee: principal.employee, admin: principal.roles.has('admin') };
}

export const notFound = (what: string, id: string | number): ApiError =>
  new ApiError(404, 'not_found', `${what} ${id} not found`);

/** A keyset page read; a cursor the store cannot decode → 422 `validation_failed` at `query.cursor`. */
export async function paged<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (err) {
    if (err instanceof StoreError && err.code === 'invalid_record') {
      throw new ApiError(422, 'validation_failed', 'the cursor is not one this list returned', [
        { path: 'query.cursor', message: err.message },
      ]);
    }
    throw err;
  }
}

/** The request's Idempotency-Key, or a fresh one (a write without a key is not deduplicated). */
export function idempotencyKeyOf(ctx: ApiContext, header: string | undefined): string {
  return header ?? ctx.newId();
}
