import { workflowDefinitionSchema, type WorkflowDefinition } from './definition-schema.ts';
import type { EngineErrorDetail } from './errors.ts';
import { jsonPath } from './json-path.ts';
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
 * Deepest JSON nesting a definition may have. zod's recursive condition schemas
 * overflow the stack a few hundred levels down (a RangeError, a 500 at the
 * gateway), so deeper input is refused before parsing. A legal definition stays
 * far below: conditions stop at MAX_CONDITION_DEPTH (32) levels, about 70 in JSON.
 */
export const MAX_DEFINITION_DEPTH = 100;

interface Visit {
  value: unknown;
  depth: number;
  key: PropertyKey;
  parent: Visit | undefined;
}

/** The path of the first value nested deeper than MAX_DEFINITION_DEPTH, found without recursion. */
function tooDeep(input: unknown): EngineErrorDetail[] {
  const stack: Visit[] = [{ value: input, depth: 0, key: '', parent: undefined }];
  for (let at = stack.pop(); at !== undefined; at = stack.pop()) {
    const { value, depth } = at;
    if (typeof value !== 'object' || value === null) continue;
    if (depth >= MAX_DEFINITION_DEPTH) {
      return [
        {
          path: jsonPath(pathOf(at)),
          message: `nested deeper than ${MAX_DEFINITION_DEPTH} levels; no valid definition is`,
        },
      ];
    }
    const entries: [PropertyKey, unknown][] = Array.isArray(value)
      ? value.map((v, i) => [i, v])
      : Object.entries(value);
    for (const [key, v] of entries) stack.push({ value: v, depth: depth + 1, key, parent: at });
  }
  return [];
}

function pathOf(visit: Visit): PropertyKey[] {
  const path: PropertyKey[] = [];
  for (let v: Visit | undefined = visit; v?.parent !== undefined; v = v.parent) path.unshift(v.key);
  return path;
}

/**
 * Validates a workflow definition (docs/definitions.md): its shape first, then every semantic
 * rule, returning all errors found, each with the JSON path it concerns.
 * @example
 * const result = validateDefinition(JSON.parse(text));
 * if (!result.ok) for (const e of result.errors) console.log(`${e.path}: ${e.message}`);
 */
export function validateDefinition(input: unknown): DefinitionValidation {
  const deep = tooDeep(input);
  if (deep.length > 0) return { ok: false, errors: deep };
  const errors = checkFieldNames(input);
  const parsed = workflowDefinitionSchema.safeParse(input);
  if (!parsed.success) return { ok: false, errors: [...zodIssuesToDetails(parsed.error.issues), ...errors] };
  const ctx = createContext(parsed.data, errors);
  for (const rule of RULES) rule(ctx);
  if (errors.length === 0) return { ok: true, definition: parsed.data };
  // Grouped by path (numeric-aware, stable) so one node's errors are read together.
  return { ok: false, errors: errors.sort((a, b) => a.path.localeCompare(b.path, 'en', { numeric: true })) };
}
