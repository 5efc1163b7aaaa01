import type { EmployeeId, GroupId } from './ids.ts';

/** An employee as pushed by the ERP. */
export interface Employee {
  id: EmployeeId;
  name: string;
  email?: string;
  phone?: string;
  companyId?: string;
  groupId?: GroupId;
  active: boolean;
}

/** A node of the org chart. `level` 0 is the top; when absent it is the depth from the root. */
export interface Group {
  id: GroupId;
  name: string;
  parentId?: GroupId;
  managerId?: EmployeeId;
  level?: number;
}

/**
 * The engine's read-only view of a tenant's directory. The host loads it (the
 * engine does no I/O); lookups are synchronous.
 */
export interface DirectoryView {
  employee(id: EmployeeId): Employee | undefined;
  group(id: GroupId): Group | undefined;
  /** Every employee whose `groupId` is this group, active or not. */
  groupMembers(id: GroupId): readonly Employee[];
}

/** A DirectoryView over plain arrays: the embedded mode's and the tests' directory. */
export function inMemoryDirectory(employees: readonly Employee[], groups: readonly Group[]): DirectoryView {
  const byId = new Map(employees.map((e) => [e.id, e]));
  const groupById = new Map(groups.map((g) => [g.id, g]));
  const members = new Map<GroupId, Employee[]>();
  for (const e of employees) {
    if (e.groupId === undefined) continue;
    const list = members.get(e.groupId) ?? [];
    list.push(e);
    members.set(e.groupId, list);
  }
  return {
    employee: (id) => byId.get(id),
    group: (id) => groupById.get(id),
    groupMembers: (id) => members.get(id) ?? [],
  };
}
