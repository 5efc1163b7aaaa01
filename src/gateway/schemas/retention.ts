import { z } from '@hono/zod-openapi';
import { instant } from './common.ts';

/** Days in the longest policy: a hundred years. */
export const MAX_RETENTION_DAYS = 36_500;

/** PUT /api/v1/retention-policy. */
export const retentionPolicyBody = z
  .object({
    auditLogDays: z
      .number()
      .int('whole days')
      .min(1, 'at least 1 day (null keeps the audit log for ever)')
      .max(MAX_RETENTION_DAYS, `at most ${MAX_RETENTION_DAYS} days (null keeps the audit log for ever)`)
      .nullable()
      .openapi({
        description:
          "Days a finished runtime's audit log (its history) is kept after the runtime finished, once retention " +
          'has removed its other rows; null keeps it for ever (the default).',
        example: 2555,
      }),
  })
  .strict()
  .openapi('RetentionPolicyInput');

export const retentionPolicySchema = z
  .object({
    auditLogDays: z.number().int().nullable(),
    /** When the policy was last set; null for a tenant that never set one (the default policy). */
    updatedAt: instant.nullable(),
  })
  .openapi('RetentionPolicy');
