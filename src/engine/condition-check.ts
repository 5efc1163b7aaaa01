import { FUNCTIONS, OPERATORS } from './definition-schema.ts';
import type { Condition, FieldType, FunctionCall, Operator } from './definition-schema.ts';
import type { EngineErrorDetail } from './errors.ts';
import { isoInstant } from './iso-instant.ts';
import {
  MAX_CONDITION_DEPTH,
  OPERATORS_BY_TYPE,
  TYPE_NAMES,
  isAndGroup,
  isFieldRef,
  isForbiddenName,
  isFunctionCall,
  isLeaf,
  isMembership,
  isOrGroup,
  isOrdering,
  quote,
} from './condition-shape.ts';

/**
 * Static check of a condition for the definition validator (semantics in
 * conditions.ts). Input is treated as untrusted JSON even though zod ran first:
 * every problem is reported with its path, and an operand already reported as
 * wrong is typed 'invalid' so one mistake does not cascade into several errors.
 */

type Fields = Readonly<Record<string, FieldType>>;
/** 'unknown': a field of a sumItemIf item (untyped until run time). */
type StaticType = FieldType | 'null' | 'unknown' | 'invalid';

interface Check {
  /** null inside a sumItemIf item condition: item fields are not declared. */
  readonly fields: Fields | null;
  readonly out: EngineErrorDetail[];
}

/** Static check for the validator: every problem with its path (path prefix given, e.g. "associations[1].condition"). Empty array = fine. */
export function checkCondition(
  cond: Condition,
  fields: Readonly<Record<string, FieldType>>,
  path: string,
): EngineErrorDetail[] {
  const out: EngineErrorDetail[] = [];
  checkNode(cond, { fields, out }, path, 1);
  return out;
}

function checkNode(c: unknown, ctx: Check, path: string, depth: number): void {
  if (depth > MAX_CONDITION_DEPTH)
    return report(ctx, path, `conditions nest deeper than ${MAX_CONDITION_DEPTH} levels`);
  if (isLeaf(c)) return checkLeaf(c, ctx, path, depth);
  if (isAndGroup(c)) return checkGroup(c.and, 'and', ctx, path, depth);
  if (isOrGroup(c)) return checkGroup(c.or, 'or', ctx, path, depth);
  report(ctx, path, 'expected a condition: {"left", "op", "right"}, {"and": [...]} or {"or": [...]}');
}

function checkGroup(list: unknown, key: 'and' | 'or', ctx: Check, path: string, depth: number): void {
  const at = `${path}.${key}`;
  if (!Array.isArray(list) || list.length === 0)
    return report(ctx, at, `"${key}" needs a non-empty list of conditions`);
  for (let i = 0; i < list.length; i++) checkNode(list[i], ctx, `${at}[${i}]`, depth + 1);
}

function checkLeaf(
  leaf: { left: unknown; op: unknown; right: unknown },
  ctx: Check,
  path: string,
  depth: number,
): void {
  const lt = leftType(leaf.left, ctx, `${path}.left`, depth);
  const op = leaf.op;
  if (!isOperator(op)) {
    report(
      ctx,
      `${path}.op`,
      `unknown operator ${typeof op === 'string' ? quote(op) : String(op)}; use one of ${OPERATORS.join(', ')}`,
    );
    return void operandType(leaf.right, ctx, `${path}.right`, false, depth);
  }
  if (op === 'is') return checkIs(leaf.left, lt, leaf.right, ctx, `${path}.right`);
  const rt = operandType(leaf.right, ctx, `${path}.right`, false, depth);
  if (lt === 'invalid' || rt === 'invalid') return;
  if (lt !== 'unknown' && lt !== 'null' && !OPERATORS_BY_TYPE[lt].has(op)) {
    const allowed = [...OPERATORS_BY_TYPE[lt]].join(', ');
    return report(
      ctx,
      `${path}.op`,
      `operator "${op}" does not apply to ${describeLeft(leaf.left)} (${TYPE_NAMES[lt]}); use one of ${allowed}`,
    );
  }
  checkRight(leaf.left, lt, op, leaf.right, rt, ctx, `${path}.right`);
}

/** The left side names what is tested: a field or a function, never a bare literal. */
function leftType(left: unknown, ctx: Check, path: string, depth: number): StaticType {
  if (left === null || typeof left === 'number' || typeof left === 'boolean') {
    report(ctx, path, 'the left side must be a field name, {"field": ...} or a function, not a literal');
    return 'invalid';
  }
  return operandType(left, ctx, path, true, depth);
}

function checkIs(left: unknown, lt: StaticType, right: unknown, ctx: Check, path: string): void {
  if (right !== null && right !== true && right !== false)
    return report(ctx, path, 'operator "is" needs null, true or false on the right');
  if (right === null || lt === 'boolean' || lt === 'unknown' || lt === 'invalid') return;
  report(
    ctx,
    path,
    `"is ${String(right)}" needs a boolean, but ${describeLeft(left)} is ${typeName(lt)}; use "is null" to test for a missing value`,
  );
}

/** Does the right operand's type fit the left's for this operator? */
function checkRight(
  left: unknown,
  lt: StaticType,
  op: Operator,
  right: unknown,
  rt: StaticType,
  ctx: Check,
  path: string,
): void {
  if (rt === 'null') {
    if (op === '=' || op === '!=') return;
    return report(ctx, path, `"${op}" needs a value on the right, not null; use "is null" to test for a missing value`);
  }
  if (
    isOrdering(op) &&
    typeof right === 'string' &&
    (lt === 'date' || lt === 'unknown') &&
    Number.isNaN(isoInstant(right))
  ) {
    return report(ctx, path, `${quote(right)} is not an ISO 8601 date (YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][Z|±HH:MM])`);
  }
  if (lt === 'unknown' || rt === 'unknown' || fits(lt, op, rt, right)) return;
  const wanted = lt === 'date' && typeof right === 'string' ? 'is not an ISO 8601 date' : `is ${typeName(rt)}`;
  report(ctx, path, `the right side ${wanted}, which does not fit "${op}" on ${describeLeft(left)} (${typeName(lt)})`);
}

function fits(lt: StaticType, op: Operator, rt: StaticType, right: unknown): boolean {
  if (isMembership(op)) {
    if (lt === 'string') return rt === 'string' || rt === 'employee';
    return rt !== 'array' && rt !== 'invalid';
  }
  switch (lt) {
    case 'date':
      return rt === 'date' || (typeof right === 'string' && !Number.isNaN(isoInstant(right)));
    case 'string':
    case 'employee':
      return rt === 'string' || rt === 'employee';
    default:
      return rt === lt;
  }
}

function operandType(o: unknown, ctx: Check, path: string, isLeft: boolean, depth: number): StaticType {
  if (typeof o === 'string') return isLeft ? fieldType(o, ctx, path) : 'string';
  if (typeof o === 'boolean') return 'boolean';
  if (o === null) return 'null';
  if (typeof o === 'number' && Number.isFinite(o)) return 'number';
  if (isFieldRef(o)) return fieldType(o.field, ctx, `${path}.field`);
  if (isFunctionCall(o)) return functionType(o, ctx, path, depth + 1);
  const isCondition = isLeaf(o) || isAndGroup(o) || isOrGroup(o);
  report(
    ctx,
    path,
    isCondition
      ? 'a condition cannot be used as a value here (only as the third argument of sumItemIf)'
      : 'expected a field name, a literal, {"field": ...} or {"fn": ..., "args": [...]}',
  );
  return 'invalid';
}

function fieldType(name: unknown, ctx: Check, path: string): StaticType {
  if (typeof name !== 'string' || name === '') return invalid(ctx, path, 'a field name must be a non-empty string');
  if (isForbiddenName(name)) return invalid(ctx, path, `field name ${quote(name)} is not allowed`);
  if (ctx.fields === null) return 'unknown';
  if (!Object.hasOwn(ctx.fields, name))
    return invalid(ctx, path, `unknown field ${quote(name)}; declare it in "fields"`);
  return ctx.fields[name] as FieldType;
}

/** The function's result type; problems in its arguments are reported at their own paths. */
function functionType(call: FunctionCall, ctx: Check, path: string, depth: number): StaticType {
  if (depth > MAX_CONDITION_DEPTH)
    return invalid(ctx, path, `conditions nest deeper than ${MAX_CONDITION_DEPTH} levels`);
  const fn: unknown = call.fn;
  const args: unknown = call.args;
  if (!isFunctionName(fn))
    return invalid(ctx, `${path}.fn`, `unknown function ${String(fn)}; use one of ${FUNCTIONS.join(', ')}`);
  if (!Array.isArray(args)) return invalid(ctx, `${path}.args`, `${fn} needs an "args" list`);
  switch (fn) {
    case 'max':
    case 'min':
      return checkExtremum(fn, args, ctx, path, depth);
    case 'sumItemIf':
      return checkSumItemIf(args, ctx, path, depth);
    case 'contains':
      return checkContains(args, ctx, path, depth);
  }
}

function checkExtremum(fn: string, args: readonly unknown[], ctx: Check, path: string, depth: number): StaticType {
  if (args.length === 0) report(ctx, `${path}.args`, `${fn} needs at least one argument`);
  for (let i = 0; i < args.length; i++) {
    const at = `${path}.args[${i}]`;
    const t = operandType(args[i], ctx, at, true, depth);
    if (t !== 'number' && t !== 'unknown' && t !== 'invalid')
      report(ctx, at, `${fn} takes numbers; this argument is ${typeName(t)}`);
  }
  return 'number';
}

function checkSumItemIf(args: readonly unknown[], ctx: Check, path: string, depth: number): StaticType {
  if (args.length !== 3) {
    report(
      ctx,
      `${path}.args`,
      'sumItemIf takes 3 arguments: an array field, an item field name and a condition on the item',
    );
  }
  const list = args[0];
  const listPath = `${path}.args[0]`;
  if (typeof list === 'string' || isFieldRef(list)) {
    const name = typeof list === 'string' ? list : list.field;
    const t = fieldType(name, ctx, listPath);
    if (t !== 'array' && t !== 'unknown' && t !== 'invalid')
      report(ctx, listPath, `sumItemIf sums over an array field, but ${quote(name)} is ${typeName(t)}`);
  } else if (args.length > 0) {
    report(ctx, listPath, 'the first argument of sumItemIf must name an array field');
  }
  const total = args[1];
  if (args.length > 1 && (typeof total !== 'string' || total === '' || isForbiddenName(total))) {
    report(ctx, `${path}.args[1]`, 'the second argument of sumItemIf must be the name of a numeric item field');
  }
  if (args.length > 2) checkNode(args[2], { fields: null, out: ctx.out }, `${path}.args[2]`, depth + 1);
  return 'number';
}

function checkContains(args: readonly unknown[], ctx: Check, path: string, depth: number): StaticType {
  if (args.length !== 2)
    return invalid(ctx, `${path}.args`, 'contains takes 2 arguments: where to look and what to look for');
  const hayPath = `${path}.args[0]`;
  const ht = operandType(args[0], ctx, hayPath, true, depth);
  const nt = operandType(args[1], ctx, `${path}.args[1]`, false, depth);
  if (ht === 'invalid' || nt === 'invalid') return 'boolean';
  if (ht !== 'unknown' && ht !== 'string' && ht !== 'array') {
    report(ctx, hayPath, `contains looks inside a string or an array, not ${typeName(ht)}`);
  } else {
    checkRight(args[0], ht, 'contains', args[1], nt, ctx, `${path}.args[1]`);
  }
  return 'boolean';
}

function describeLeft(left: unknown): string {
  if (typeof left === 'string') return `field ${quote(left)}`;
  if (isFieldRef(left)) return `field ${quote(String(left.field))}`;
  if (isFunctionCall(left)) return `${String(left.fn)}()`;
  return 'the left side';
}

function typeName(t: StaticType): string {
  switch (t) {
    case 'null':
      return 'null';
    case 'unknown':
    case 'invalid':
      return 'of unknown type';
    case 'array':
    case 'employee':
      return `an ${t}`;
    default:
      return `a ${t}`;
  }
}

function isOperator(op: unknown): op is Operator {
  return typeof op === 'string' && (OPERATORS as readonly string[]).includes(op);
}

function isFunctionName(fn: unknown): fn is FunctionCall['fn'] {
  return typeof fn === 'string' && (FUNCTIONS as readonly string[]).includes(fn);
}

function invalid(ctx: Check, path: string, message: string): 'invalid' {
  report(ctx, path, message);
  return 'invalid';
}

function report(ctx: Check, path: string, message: string): void {
  ctx.out.push({ path, message });
}
