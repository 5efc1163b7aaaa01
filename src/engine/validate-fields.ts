import type { EngineErrorDetail } from './errors.ts';
import { jsonPath, quoteList } from './json-path.ts';
import { fieldType, type ValidationContext } from './validation-context.ts';

const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const RESERVED_NAMES = new Set(['__proto__', 'constructor', 'prototype']);

/** Every action name a definition may rename in `actionNames`. */
export const ACTION_NAMES = [
  'submit',
  'approve',
  'reject',
  'return',
  'resubmit',
  'complete',
  'reassign',
  'withdraw',
  'comment',
  'update',
  'change_request',
  'cancel',
] as const;

/**
 * Checks field names on the raw input: zod's record parsing silently drops a
 * `__proto__` key, so after parsing there would be nothing left to report.
 */
export function checkFieldNames(input: unknown): EngineErrorDetail[] {
  const fields = isPlainObject(input) ? input['fields'] : undefined;
  if (!isPlainObject(fields)) return [];
  return Object.keys(fields).flatMap((name) => {
    const path = jsonPath(['fields', name]);
    if (RESERVED_NAMES.has(name)) return [{ path, message: `"${name}" is reserved; rename the field` }];
    if (FIELD_NAME.test(name)) return [];
    return [{ path, message: `field name "${name}" must start with a letter or _ and use only letters, digits and _` }];
  });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function checkBeneficiary(ctx: ValidationContext): void {
  const name = ctx.def.beneficiary;
  if (name !== undefined) checkEmployeeField(ctx, name, 'beneficiary', '"beneficiary"');
}

/** Reports unless `name` is a declared `employee` field; `what` says who needs it. */
export function checkEmployeeField(ctx: ValidationContext, name: string, path: string, what: string): void {
  const type = fieldType(ctx, name);
  if (type === undefined) {
    ctx.report(
      path,
      `"${name}" is not a declared field; declare it in "fields" as "employee" (${what} names an employee field)`,
    );
  } else if (type !== 'employee') {
    ctx.report(path, `"${name}" is declared as ${type}; ${what} needs a field of type "employee"`);
  }
}

export function checkZones(ctx: ValidationContext): void {
  const seen = new Map<string, number>();
  ctx.def.zones.forEach((zone, i) => {
    const first = seen.get(zone.id);
    if (first === undefined) seen.set(zone.id, i);
    else
      ctx.report(
        `zones[${i}].id`,
        `duplicate zone id "${zone.id}" (also zones[${first}].id); give each zone its own id`,
      );
    zone.fields.forEach((name, j) => {
      if (fieldType(ctx, name) === undefined) {
        ctx.report(
          `zones[${i}].fields[${j}]`,
          `"${name}" is not a declared field; declare it in "fields" or remove it from the zone`,
        );
      }
    });
  });
}

export function checkActionNames(ctx: ValidationContext): void {
  const known: readonly string[] = ACTION_NAMES;
  for (const name of Object.keys(ctx.def.actionNames ?? {})) {
    if (!known.includes(name)) {
      ctx.report(jsonPath(['actionNames', name]), `unknown action "${name}"; rename one of ${quoteList(known, 20)}`);
    }
  }
}
