import { compileWorkflow, inMemoryDirectory, type CompiledWorkflow, type DirectoryView } from '../engine/index.ts';
import type { AppConfig, DirectoryStore, WorkflowRecord, WorkflowStore } from '../store/ports.ts';

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
    return stored && compileWorkflow(stored.definition, workflowId, version);
  }

  private evictOverflow(): void {
    for (const key of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries) return;
      this.entries.delete(key);
    }
  }
}

interface DirectoryEntry {
  view: Promise<DirectoryView>;
  loadedAt: number;
}

/**
 * Each tenant's directory as a DirectoryView, reloaded after `ttlMs`: an
 * employee or group change reaches a running node within the TTL, or at once
 * after `invalidate(tenant)`. Concurrent misses share one load; a failed load
 * is not cached.
 */
export class DirectoryCache {
  private readonly entries = new Map<string, DirectoryEntry>();

  constructor(
    private readonly store: DirectoryStore,
    private readonly ttlMs: number,
    private readonly now: () => number,
  ) {}

  get(tenant: string): Promise<DirectoryView> {
    const now = this.now();
    const hit = this.entries.get(tenant);
    if (hit && now - hit.loadedAt < this.ttlMs) return hit.view;
    const entry: DirectoryEntry = { view: this.load(tenant), loadedAt: now };
    this.entries.set(tenant, entry);
    entry.view.catch(() => {
      if (this.entries.get(tenant) === entry) this.entries.delete(tenant);
    });
    return entry.view;
  }

  invalidate(tenant: string): void {
    this.entries.delete(tenant);
  }

  private async load(tenant: string): Promise<DirectoryView> {
    const { employees, groups } = await this.store.loadDirectory(tenant);
    return inMemoryDirectory(employees, groups);
  }
}

interface StartDefinitionEntry {
  value: Promise<unknown>;
  loadedAt: number;
  generation: number;
}

/**
 * What every start reads before the engine runs: the app's config and the
 * bound workflow's record (its latest version), per tenant, reused for `ttlMs`
 * (absent rows too: an unconfigured app is not a read per start). A config
 * change or a publish reaches a running node at once after `invalidate(tenant)`
 * (a change notice), else within the TTL. Concurrent misses share one load; a
 * failed load is not cached; at most `maxEntries` entries (oldest dropped first).
 */
export class StartDefinitionCache implements Pick<WorkflowStore, 'getAppConfig' | 'getWorkflow'> {
  private readonly entries = new Map<string, StartDefinitionEntry>();
  /** Per tenant: bumped by `invalidate`, so entries loaded before it are misses. */
  private readonly generations = new Map<string, number>();

  constructor(
    private readonly store: WorkflowStore,
    private readonly ttlMs: number,
    private readonly now: () => number,
    private readonly maxEntries = 10_000,
  ) {}

  getAppConfig(tenant: string, app: string, companyId: string): Promise<AppConfig | undefined> {
    return this.cached(tenant, JSON.stringify([tenant, 'config', app, companyId]), () => this.store.getAppConfig(tenant, app, companyId));
  }

  getWorkflow(tenant: string, id: string): Promise<WorkflowRecord | undefined> {
    return this.cached(tenant, JSON.stringify([tenant, 'workflow', id]), () => this.store.getWorkflow(tenant, id));
  }

  /** The tenant's next start reads its configs and workflows afresh. */
  invalidate(tenant: string): void {
    this.generations.set(tenant, (this.generations.get(tenant) ?? 0) + 1);
  }

  private cached<T>(tenant: string, key: string, load: () => Promise<T>): Promise<T> {
    const now = this.now();
    const generation = this.generations.get(tenant) ?? 0;
    const hit = this.entries.get(key);
    if (hit && hit.generation === generation && now - hit.loadedAt < this.ttlMs) return hit.value as Promise<T>;
    const value = load();
    if (this.ttlMs === 0) return value;
    const entry: StartDefinitionEntry = { value, loadedAt: now, generation };
    this.entries.delete(key);
    this.entries.set(key, entry);
    value.catch(() => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
    });
    for (const k of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries) break;
      this.entries.delete(k);
    }
    return value;
  }
}
