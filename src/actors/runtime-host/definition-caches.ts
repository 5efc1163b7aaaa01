import { compileWorkflow, inMemoryDirectory, type CompiledWorkflow, type DirectoryView } from '../../engine/index.ts';
import type { AppConfig, DirectoryStore, WorkflowRecord, WorkflowStore, WorkflowVersion } from '../../store/ports.ts';
import { TenantTtlCache } from '../tenant-ttl-cache.ts';

/**
 * Compiled workflow versions, per (tenant, workflow, version). Versions are
 * immutable, so an entry never goes stale; the bound only caps memory (least
 * recently used first). Concurrent misses share one load.
 */
export class WorkflowCache {
  private readonly entries = new Map<string, Promise<CompiledWorkflow | undefined>>();

  constructor(
    private readonly store: WorkflowStore,
    private readonly maxEntries: number,
  ) {}

  /** The compiled version, or undefined when it does not exist (not cached). */
  get(tenant: string, workflowId: string, version: number): Promise<CompiledWorkflow | undefined> {
    const key = JSON.stringify([tenant, workflowId, version]);
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    const loading = this.load(tenant, workflowId, version);
    this.entries.set(key, loading);
    const forget = (): void => {
      if (this.entries.get(key) === loading) this.entries.delete(key);
    };
    loading.then((wf) => wf ?? forget(), forget);
    this.evictOverflow();
    return loading;
  }

  private async load(tenant: string, workflowId: string, version: number): Promise<CompiledWorkflow | undefined> {
    const stored = await this.store.getVersion(tenant, workflowId, version);
    return stored && compiledOnce(stored.definition, stored.contentHash, workflowId, version);
  }

  private evictOverflow(): void {
    for (const key of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries) return;
      this.entries.delete(key);
    }
  }
}

/**
 * Compiled versions by content: tenants publishing the same definition (a template, the examples) under the
 * same workflow id and version share one compiled workflow, in this process (a node's host and, in `bflow
 * all`, its gateway too). A compile costs milliseconds of CPU, paid per tenant on a fresh node otherwise.
 * Compiled workflows are immutable and depend on nothing but (definition, id, version).
 */
const byContent = new Map<string, CompiledWorkflow>();
const MAX_BY_CONTENT = 1_000;

function compiledOnce(
  definition: WorkflowVersion['definition'],
  contentHash: string,
  workflowId: string,
  version: number,
): CompiledWorkflow {
  const key = `${contentHash}\u0000${workflowId}\u0000${version}`;
  const hit = byContent.get(key);
  if (hit) return hit;
  const compiled = compileWorkflow(definition, workflowId, version);
  if (byContent.size >= MAX_BY_CONTENT) byContent.delete(byContent.keys().next().value!);
  byContent.set(key, compiled);
  return compiled;
}

/**
 * Each tenant's directory as a DirectoryView, reloaded after `ttlMs`: an
 * employee or group change reaches a running node at once after
 * `invalidate(tenant)` (a change notice), else within twice the TTL. The
 * reload after the TTL runs in the background while the old copy is served,
 * so a command on an active runtime never waits on a directory read.
 * Concurrent misses share one load; a failed load is not cached; at most
 * 10,000 tenants' directories are kept.
 */
export class DirectoryCache {
  private readonly cache: TenantTtlCache<DirectoryView>;

  constructor(
    private readonly store: DirectoryStore,
    ttlMs: number,
    now: () => number,
  ) {
    this.cache = new TenantTtlCache(ttlMs, now, 10_000, true);
  }

  get(tenant: string): Promise<DirectoryView> {
    return this.cache.get(tenant, 'directory', async () => {
      const { employees, groups } = await this.store.loadDirectory(tenant);
      return inMemoryDirectory(employees, groups);
    });
  }

  invalidate(tenant: string): void {
    this.cache.invalidate(tenant);
  }
}

/**
 * What every start reads before the engine runs: the app's config and the
 * bound workflow's record (its latest version), per tenant, reused for `ttlMs`
 * (absent rows too: an unconfigured app is not a read per start). A config
 * change or a publish reaches a running node at once after `invalidate(tenant)`
 * (a change notice), else within twice the TTL: after the TTL the entry is
 * reloaded in the background while starts go on with it. Concurrent misses
 * share one load; a failed load is not cached; at most `maxEntries` entries
 * (oldest dropped first).
 */
export class StartDefinitionCache implements Pick<WorkflowStore, 'getAppConfig' | 'getWorkflow'> {
  private readonly cache: TenantTtlCache<AppConfig | WorkflowRecord | undefined>;

  constructor(
    private readonly store: WorkflowStore,
    ttlMs: number,
    now: () => number,
    maxEntries = 10_000,
  ) {
    this.cache = new TenantTtlCache(ttlMs, now, maxEntries, true);
  }

  getAppConfig(tenant: string, app: string, companyId: string): Promise<AppConfig | undefined> {
    const key = JSON.stringify(['config', app, companyId]);
    return this.cache.get(tenant, key, () => this.store.getAppConfig(tenant, app, companyId)) as Promise<
      AppConfig | undefined
    >;
  }

  getWorkflow(tenant: string, id: string): Promise<WorkflowRecord | undefined> {
    return this.cache.get(tenant, JSON.stringify(['workflow', id]), () =>
      this.store.getWorkflow(tenant, id),
    ) as Promise<WorkflowRecord | undefined>;
  }

  /** The tenant's next start reads its configs and workflows afresh. */
  invalidate(tenant: string): void {
    this.cache.invalidate(tenant);
  }
}
