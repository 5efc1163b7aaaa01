import type mysql from 'mysql2/promise';
import type { Employee, Group } from '../../engine/index.ts';
import type { DirectoryStore } from '../ports.ts';
import { num, optNum, optStr, sqlContext, str, type MySqlRepositoryOptions, type Row, type SqlContext } from './sql.ts';

/** Rows per multi-row upsert (docs/api.md#directory: an import carries up to 10,000 items). */
export const DIRECTORY_CHUNK = 10_000;

const EMPLOYEE_COLUMNS = ['tenant', 'id', 'name', 'email', 'phone', 'company_id', 'group_id', 'active', 'updated_at'];
const GROUP_COLUMNS = ['tenant', 'id', 'name', 'parent_id', 'manager_id', 'level', 'updated_at'];

/** The ERP-pushed directory over MySQL: multi-row upserts that run on MySQL 8 and MariaDB. */
export class MySqlDirectoryStore implements DirectoryStore {
  private readonly ctx: SqlContext;

  constructor(pool: mysql.Pool, options: MySqlRepositoryOptions = {}) {
    this.ctx = sqlContext(pool, options);
  }

  async upsertEmployees(tenant: string, employees: readonly Employee[]): Promise<void> {
    const now = this.ctx.now();
    const rows = employees.map((e) => [
      tenant,
      e.id,
      e.name,
      e.email ?? null,
      e.phone ?? null,
      e.companyId ?? null,
      e.groupId ?? null,
      e.active ? 1 : 0,
      now,
    ]);
    await this.upsert('employees', EMPLOYEE_COLUMNS, rows);
  }

  async upsertGroups(tenant: string, groups: readonly Group[]): Promise<void> {
    const now = this.ctx.now();
    const rows = groups.map((g) => [
      tenant,
      g.id,
      g.name,
      g.parentId ?? null,
      g.managerId ?? null,
      g.level ?? null,
      now,
    ]);
    await this.upsert('directory_groups', GROUP_COLUMNS, rows);
  }

  async loadDirectory(tenant: string): Promise<{ employees: Employee[]; groups: Group[] }> {
    const [employees, groups] = await Promise.all([
      this.ctx.select(`SELECT ${EMPLOYEE_COLUMNS.join(', ')} FROM employees WHERE tenant = ? ORDER BY id`, [tenant]),
      this.ctx.select(`SELECT ${GROUP_COLUMNS.join(', ')} FROM directory_groups WHERE tenant = ? ORDER BY id`, [
        tenant,
      ]),
    ]);
    return { employees: employees.map(toEmployee), groups: groups.map(toGroup) };
  }

  /** `VALUES(col)` rather than MySQL 8's row alias: MariaDB has no alias syntax. */
  private async upsert(table: string, columns: readonly string[], rows: unknown[][]): Promise<void> {
    const updates = columns
      .filter((c) => c !== 'tenant' && c !== 'id')
      .map((c) => `${c} = VALUES(${c})`)
      .join(', ');
    const sql = `INSERT INTO ${table} (${columns.join(', ')}) VALUES ? ON DUPLICATE KEY UPDATE ${updates}`;
    for (let i = 0; i < rows.length; i += DIRECTORY_CHUNK) {
      await this.ctx.exec(sql, [rows.slice(i, i + DIRECTORY_CHUNK)]);
    }
  }
}

function toEmployee(r: Row): Employee {
  const e: Employee = { id: str(r.id), name: str(r.name), active: num(r.active) === 1 };
  const email = optStr(r.email);
  const phone = optStr(r.phone);
  const companyId = optStr(r.company_id);
  const groupId = optStr(r.group_id);
  if (email !== undefined) e.email = email;
  if (phone !== undefined) e.phone = phone;
  if (companyId !== undefined) e.companyId = companyId;
  if (groupId !== undefined) e.groupId = groupId;
  return e;
}

function toGroup(r: Row): Group {
  const g: Group = { id: str(r.id), name: str(r.name) };
  const parentId = optStr(r.parent_id);
  const managerId = optStr(r.manager_id);
  const level = optNum(r.level);
  if (parentId !== undefined) g.parentId = parentId;
  if (managerId !== undefined) g.managerId = managerId;
  if (level !== undefined) g.level = level;
  return g;
}
