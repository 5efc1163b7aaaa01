import type { Employee, Group } from '../engine/index.ts';
import type { DirectoryStore } from './ports.ts';

/** A DirectoryStore that reports each tenant it changed (after the write), so caches of it can be dropped. */
export function invalidatingDirectory(inner: DirectoryStore, changed: (tenant: string) => void): DirectoryStore {
  return {
    async upsertEmployees(tenant: string, employees: readonly Employee[]) {
      await inner.upsertEmployees(tenant, employees);
      changed(tenant);
    },
    async upsertGroups(tenant: string, groups: readonly Group[]) {
      await inner.upsertGroups(tenant, groups);
      changed(tenant);
    },
    loadDirectory: (tenant) => inner.loadDirectory(tenant),
  };
}
