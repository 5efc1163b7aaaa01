import { workflowDefinitionSchema, type WorkflowDefinition } from './definition-schema.ts';
import type { EngineErrorDetail } from './errors.ts';
import { checkAssociations } from './validate-associations.ts';
import { checkActionNames, checkBeneficiary, checkFieldNames, checkZones } from './validate-fields.ts';
import { checkExits, checkNodeSet, checkReachability } from './validate-graph.ts';
import { checkNodes } from './validate-nodes.ts';
import { createContext, type ValidationContext } from './validation-context.ts';
import { zodIssuesToDetails } from './zod-issues.ts';

export type DefinitionValidation =
  | { ok: true; definition: WorkflowDefinition }
  | { ok: false; errors: EngineErrorDetail[] };

const RULES: readonly ((ctx: ValidationContext) => void)[] = [
  checkNodeSet,
  checkAssociations,
  checkReachability,
  checkExits,
  checkNodes,
  checkBeneficiary,
  checkZones,
  checkActionNames,
];

/**
 * Validates a workflow definition (DEFINITIONS.md): its shape first, then every semantic
 * rule, returning all errors found, each with the JSON path it concerns.
 * @example
 * const result = validateDefinition(JSON.parse(text));
 * if (!result.ok) for (const e of result.errors) console.log(`${e.path}: ${e.message}`);
 */
export function validateDefinition(input: unknown): DefinitionValidation {
  const errors = checkFieldNames(input);
  const parsed = workflowDefinitionSchema.safeParse(input);
  if (!parsed.success) return { ok: false, errors: [...zodIssuesToDetails(parsed.error.issues), ...errors] };
  const ctx = createContext(parsed.data, errors);
  for (const rule of RULES) rule(ctx);
  if (errors.length === 0) return { ok: true, definition: parsed.data };
  // Grouped by path (numeric-aware, stable) so one node's errors are read together.
  return { ok: false, errors: errors.sort((a, b) => a.path.localeCompare(b.path, 'en', { numeric: true })) };
}
