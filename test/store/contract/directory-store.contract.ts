import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Employee, Group } from '../../../src/engine/index.ts';
import { uniqueTenant } from '../fixtures.ts';
import type { MakeSubject, StoreSubject } from './subject.ts';

const employees: Employee[] = [
  {
    id: 'e2',
    name: 'Bình Trần',
    email: 'binh@example.com',
    phone: '+84 90',
    companyId: 'c1',
    groupId: 'g-sales',
    active: true,
  },
  { id: 'e1', name: 'An Nguyễn', active: true },
  { id: 'e3', name: 'Gone', groupId: 'g-sales', active: false },
];
const groups: Group[] = [
  { id: 'g-root', name: 'Company', managerId: 'e1', level: 0 },
  { id: 'g-sales', name: 'Sales', parentId: 'g-root', managerId: 'e2', level: 1 },
];

/** The DirectoryStore contract: bulk upserts and reload, per tenant. */
export function directoryStoreContract(name: string, makeSubject: MakeSubject): void {
  describe(`${name} - directory`, () => {
    let s: StoreSubject;
    let tenant: string;
    beforeEach(async () => {
      s = await makeSubject();
      tenant = uniqueTenant();
    });
    afterEach(async () => {
      await s.cleanup();
    });

    it('directory - upsert then reload gives the rows by id, optional fields only when set', async () => {
      await s.directory.upsertEmployees(tenant, employees);
      await s.directory.upsertGroups(tenant, groups);
      expect(await s.directory.loadDirectory(tenant)).toEqual({
        employees: [employees[1], employees[0], employees[2]],
        groups,
      });
    });

    it('directory - a second upsert updates rows and clears fields no longer set', async () => {
      await s.directory.upsertEmployees(tenant, employees);
      await s.directory.upsertGroups(tenant, groups);
      await s.directory.upsertEmployees(tenant, [
        { id: 'e2', name: 'Bình T.', active: false },
        { id: 'e4', name: 'New', active: true },
      ]);
      await s.directory.upsertGroups(tenant, [{ id: 'g-sales', name: 'Sales & Ops' }]);
      const dir = await s.directory.loadDirectory(tenant);
      expect(dir.employees.map((e) => e.id)).toEqual(['e1', 'e2', 'e3', 'e4']);
      expect(dir.employees[1]).toEqual({ id: 'e2', name: 'Bình T.', active: false });
      expect(dir.groups[1]).toEqual({ id: 'g-sales', name: 'Sales & Ops' });
    });

    it('directory - an import of 10,001 employees lands whole', async () => {
      const many = Array.from({ length: 10_001 }, (_, i) => ({
        id: `e${String(i).padStart(5, '0')}`,
        name: `Employee ${i}`,
        groupId: 'g',
        active: true,
      }));
      await s.directory.upsertEmployees(tenant, many);
      const dir = await s.directory.loadDirectory(tenant);
      expect(dir.employees).toHaveLength(10_001);
      expect(dir.employees[10_000]).toEqual(many[10_000]);
    });

    it('directory - empty upserts are fine', async () => {
      await s.directory.upsertEmployees(tenant, []);
      await s.directory.upsertGroups(tenant, []);
      expect(await s.directory.loadDirectory(tenant)).toEqual({ employees: [], groups: [] });
    });

    it('tenants - tenant B never sees tenant A directory', async () => {
      const other = uniqueTenant('b');
      await s.directory.upsertEmployees(tenant, employees);
      await s.directory.upsertGroups(tenant, groups);
      expect(await s.directory.loadDirectory(other)).toEqual({ employees: [], groups: [] });
      await s.directory.upsertEmployees(other, [{ id: 'e1', name: 'Other e1', active: true }]);
      expect((await s.directory.loadDirectory(tenant)).employees.find((e) => e.id === 'e1')?.name).toBe('An Nguyễn');
    });
  });
}
