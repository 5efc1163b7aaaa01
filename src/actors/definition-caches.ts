import { compileWorkflow, inMemoryDirectory, type CompiledWorkflow, type DirectoryView } from '../engine/index.ts';
import type { DirectoryStore, WorkflowStore } from '../store/ports.ts';

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
