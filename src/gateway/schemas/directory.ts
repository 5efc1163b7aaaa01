import { z } from '@hono/zod-openapi';
import { companyIdSchema, idSchema } from './common.ts';

/** Most directory items one import may carry (employees + groups). */
export const MAX_IMPORT_ITEMS = 10_000;

const text = (max: number) => z.string().min(1).max(max);

export const employeeFields = z.object({
  name: text(200),
  email: z.email().max(320).optional(),
  phone: text(50).optional(),
  companyId: companyIdSchema.optional(),
  groupId: idSchema.optional(),
  active: z.boolean().default(true),
});

export const groupFields = z.object({
  name: text(200),
  parentId: idSchema.optional(),
  managerId: idSchema.optional(),
  level: z.number().int().min(0).max(100).optional(),
});

export const employeeBody = employeeFields.openapi('EmployeeInput');
export const groupBody = groupFields.openapi('GroupInput');

export const employeeSchema = employeeFields.extend({ id: idSchema }).openapi('Employee');
export const groupSchema = groupFields.extend({ id: idSchema }).openapi('Group');

export const importBody = z
  .object({
    employees: z.array(employeeFields.extend({ id: idSchema })).default([]),
    groups: z.array(groupFields.extend({ id: idSchema })).default([]),
  })
  .openapi('DirectoryImport', {
    description: `Bulk upsert; at most ${MAX_IMPORT_ITEMS} items (employees + groups) a call.`,
  });

export const importResult = z
  .object({ employees: z.number().int(), groups: z.number().int() })
  .openapi('DirectoryImportResult');
