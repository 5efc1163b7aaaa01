import type { Employee, Group } from '../../engine/index.ts';
import type { DirectoryStore } from '../ports.ts';
import { compareStrings } from './sorted-list.ts';
import { getOrCreate, type MemoryTables } from './tables.ts';

/** The twin of the MySQL directory: upsert by (tenant, id), later items win. */
export class MemoryDirectoryStore implements DirectoryStore {
  constructor(private readonly t: MemoryTables) {}

  async upsertEmployees(tenant: string, employees: readonly Employee[]): Promise<void> {
    const table = getOrCreate(this.t.employees, tenant, () => new Map<string, Employee>());
    for (const e of employees) table.set(e.id, withoutUndefined({ ...e, active: Boolean(e.active) }));
  }

  async upsertGroups(tenant: string, groups: readonly Group[]): Promise<void> {
    const table = getOrCreate(this.t.groups, tenant, () => new Map<string, Group>());
    for (const g of groups) table.set(g.id, withoutUndefined({ ...g }));
  }

  async loadDirectory(tenant: string): Promise<{ employees: Employee[]; groups: Group[] }> {
    return {
      employees: sortedById(this.t.employees.get(tenant)),
      groups: sortedById(this.t.groups.get(tenant)),
    };
  }
}

function sortedById<T extends { id: string }>(table: Map<string, T> | undefined): T[] {
  return [...(table?.values() ?? [])].sort((a, b) => compareStrings(a.id, b.id)).map((x) => ({ ...x }));
}

/** Stored rows carry only the fields that are set, as the MySQL rows read back. */
function withoutUndefined<T extends object>(value: T): T {
  for (const k of Object.keys(value) as (keyof T)[]) if (value[k] === undefined || value[k] === null) delete value[k];
  return value;
}
