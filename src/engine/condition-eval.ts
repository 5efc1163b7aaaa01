import type { Condition, ConditionLeaf, FieldType, FunctionCall, Operand, Operator } from './definition-schema.ts';
import { EngineError } from './errors.ts';
import { isoInstant } from './iso-instant.ts';
import {
  MAX_CONDITION_DEPTH,
  OPERATORS_BY_TYPE,
  TYPE_NAMES,
  describeValue,
  isAndGroup,
  isFieldRef,
  isForbiddenName,
  isFunctionCall,
  isLeaf,
  isMembership,
  isOrGroup,
  isPlainObject,
  quote,
} from './condition-shape.ts';

/**
 * Run-time evaluation of conditions; the semantics are documented in
 * conditions.ts. This is on every command's hot path: values stay raw JS values,
 * types come from the declared fields (or, inside a sumItemIf item, from the
 * values), and strings for messages are only built once something is wrong.
 */

type Doc = Readonly<Record<string, unknown>>;
type Fields = Readonly<Record<string, FieldType>>;

/** Where field names are read: the document (typed by `fields`) or one item of a sumItemIf array (untyped). */
interface Scope {
  doc: Doc;
  readonly fields: Fields | null;
  readonly parent: Scope | null;
  readonly arrayName: string;
  index: number;
}

const PREFIX = 'associations condition: ';
const EMPTY: Doc = Object.freeze({});

/** Evaluates a condition against a document. Throws EngineError('condition_error', msg naming the field/path and the types) on a type mismatch or a missing value used in an ordering comparison. */
export function evaluateCondition(
  cond: Condition,
  doc: Readonly<Record<string, unknown>>,
  fields: Readonly<Record<string, FieldType>>,
): boolean {
  return evalCondition(cond, { doc, fields, parent: null, arrayName: '', index: -1 }, 1);
}

function evalCondition(cond: Condition, s: Scope, depth: number): boolean {
  if (depth > MAX_CONDITION_DEPTH) throw fail(`nesting deeper than ${MAX_CONDITION_DEPTH} levels`);
  if (isLeaf(cond)) return evalLeaf(cond, s, depth);
  if (isAndGroup(cond)) {
    const list = groupList(cond.and, 'and');
    for (let i = 0; i < list.length; i++) if (!evalCondition(list[i] as Condition, s, depth + 1)) return false;
    return true;
  }
  if (isOrGroup(cond)) {
    const list = groupList(cond.or, 'or');
    for (let i = 0; i < list.length; i++) if (evalCondition(list[i] as Condition, s, depth + 1)) return true;
    return false;
  }
  throw fail('expected {left, op, right}, {and: [...]} or {or: [...]}');
}

function groupList(list: unknown, key: string): readonly unknown[] {
  if (!Array.isArray(list)) throw fail(`"${key}" must be a list of conditions`);
  return list;
}

function evalLeaf(leaf: ConditionLeaf, s: Scope, depth: number): boolean {
  const op = leaf.op;
  const left = operandValue(leaf.left, s, true, depth);
  if (op === 'is') return testIs(leaf, left, s);
  const right = operandValue(leaf.right, s, false, depth);
  const kind = comparisonKind(leaf.left, leaf.right, left, right, op, s);
  if (isMembership(op)) return contains(kind, leaf.left, leaf.right, left, right, s) === (op === 'contains');
  if (op === '=' || op === '!=') return equals(kind, leaf, left, right, s) === (op === '=');
  return order(kind, leaf, left, right, s);
}

/** `is null` tests for a missing value; `is true/false` needs a boolean (a missing value is neither). */
function testIs(leaf: ConditionLeaf, left: unknown, s: Scope): boolean {
  const r = leaf.right;
  if (r === null) return left === null;
  if (r !== true && r !== false) throw fail('operator "is" needs null, true or false on the right');
  if (left === null) return false;
  if (typeof left !== 'boolean') throw mismatch(describeOperand(leaf.left, true, s), left, 'boolean', 'is');
  return left === r;
}

function equals(kind: FieldType | null, leaf: ConditionLeaf, l: unknown, r: unknown, s: Scope): boolean {
  if (l === null || r === null || kind === null) return l === r;
  return comparable(kind, l, leaf.left, true, s) === comparable(kind, r, leaf.right, false, s);
}

function order(kind: FieldType | null, leaf: ConditionLeaf, l: unknown, r: unknown, s: Scope): boolean {
  const expected = kind === null ? 'number or date' : TYPE_NAMES[kind];
  if (l === null || kind === null) throw mismatch(describeOperand(leaf.left, true, s), l, expected, leaf.op);
  if (r === null) throw mismatch(describeOperand(leaf.right, false, s), r, expected, leaf.op);
  // Ordering operators only pass comparisonKind for number and date, both compared as numbers.
  const a = comparable(kind, l, leaf.left, true, s) as number;
  const b = comparable(kind, r, leaf.right, false, s) as number;
  switch (leaf.op) {
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    default:
      return a >= b;
  }
}

/** Membership: a missing haystack is empty; an array of objects only matches primitives by identity. */
function contains(
  kind: FieldType | null,
  leftOp: Operand,
  rightOp: Operand,
  l: unknown,
  r: unknown,
  s: Scope,
): boolean {
  if (l === null) return false;
  if (r === null || typeof r === 'object') {
    throw mismatch(describeOperand(rightOp, false, s), r, 'a string, number or boolean');
  }
  if (kind === 'string') {
    const hay = comparable('string', l, leftOp, true, s) as string;
    if (typeof r !== 'string') throw mismatch(describeOperand(rightOp, false, s), r, 'string');
    return hay.includes(r);
  }
  if (!Array.isArray(l)) throw mismatch(describeOperand(leftOp, true, s), l, 'array');
  for (let i = 0; i < l.length; i++) if (l[i] === r) return true;
  return false;
}

/** The value as compared for `kind`: dates become instants; a wrong JS type is an error, never a silent false. */
function comparable(
  kind: FieldType,
  v: unknown,
  operand: Operand,
  isLeft: boolean,
  s: Scope,
): number | string | boolean {
  switch (kind) {
    case 'number':
      if (typeof v === 'number' && !Number.isNaN(v)) return v;
      break;
    case 'date':
      if (typeof v === 'string') {
        const t = isoInstant(v);
        if (!Number.isNaN(t)) return t;
      }
      break;
    case 'string':
    case 'employee':
      if (typeof v === 'string') return v;
      break;
    case 'boolean':
      if (typeof v === 'boolean') return v;
      break;
    case 'array':
      break;
  }
  throw mismatch(describeOperand(operand, isLeft, s), v, TYPE_NAMES[kind]);
}

/**
 * The type both sides are compared as: the declared type of a field (or the
 * result type of a function) on the left, else on the right; inside a sumItemIf
 * item, the type of the right literal, else of the values. null = both missing.
 */
function comparisonKind(
  leftOp: Operand,
  rightOp: Operand,
  l: unknown,
  r: unknown,
  op: Operator,
  s: Scope,
): FieldType | null {
  const kind =
    declaredType(leftOp, true, s) ?? declaredType(rightOp, false, s) ?? inferType(leftOp, rightOp, l, r, op, s);
  if (kind !== null && !OPERATORS_BY_TYPE[kind].has(op)) {
    throw fail(`operator "${op}" does not apply to ${TYPE_NAMES[kind]} (${describeOperand(leftOp, true, s)})`);
  }
  return kind;
}

function declaredType(o: Operand, isLeft: boolean, s: Scope): FieldType | undefined {
  if (isFunctionCall(o)) return o.fn === 'contains' ? 'boolean' : 'number';
  if (s.fields === null) return undefined;
  if (typeof o === 'string') return isLeft ? s.fields[o] : undefined;
  return isFieldRef(o) ? s.fields[o.field] : undefined;
}

function inferType(
  leftOp: Operand,
  rightOp: Operand,
  l: unknown,
  r: unknown,
  op: Operator,
  s: Scope,
): FieldType | null {
  const rightLiteral = rightOp !== null && typeof rightOp !== 'object';
  const useRight = rightLiteral ? !isMembership(op) : l === null;
  const basis = useRight ? r : l;
  if (basis === null) return null;
  switch (typeof basis) {
    case 'number':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'string':
      return op === '<' || op === '<=' || op === '>' || op === '>=' ? 'date' : 'string';
  }
  if (Array.isArray(basis)) return 'array';
  const side = useRight ? rightOp : leftOp;
  throw mismatch(describeOperand(side, !useRight, s), basis, 'a string, number, boolean, date or array');
}

function operandValue(o: Operand, s: Scope, isLeft: boolean, depth: number): unknown {
  if (typeof o === 'string') return isLeft ? readField(s, o) : o;
  if (o === undefined) throw fail('a condition needs "left", "op" and "right"');
  if (o === null || typeof o !== 'object') return o;
  if (isFieldRef(o)) return readField(s, o.field);
  if (isFunctionCall(o)) return callFunction(o, s, depth + 1);
  throw fail('a condition cannot be used as a value here');
}

/** Own properties only; undefined and missing read as null. */
function readField(s: Scope, name: string): unknown {
  if (isForbiddenName(name)) throw fail(`field name "${name}" is not allowed`);
  if (s.fields !== null && !Object.hasOwn(s.fields, name))
    throw fail(`field "${name}" is not declared in the workflow's fields`);
  const v = Object.hasOwn(s.doc, name) ? s.doc[name] : undefined;
  return v === undefined ? null : v;
}

function callFunction(call: FunctionCall, s: Scope, depth: number): number | boolean {
  if (depth > MAX_CONDITION_DEPTH) throw fail(`nesting deeper than ${MAX_CONDITION_DEPTH} levels`);
  const args: unknown = call.args;
  if (!Array.isArray(args)) throw fail(`function "${String(call.fn)}" needs an args list`);
  switch (call.fn) {
    case 'max':
    case 'min':
      return extremum(call.fn, args as Operand[], s, depth);
    case 'sumItemIf':
      return sumItemIf(args as Operand[], s, depth);
    case 'contains':
      return containsFunction(args as Operand[], s, depth);
    default:
      throw fail(`unknown function "${String(call.fn)}"`);
  }
}

function extremum(fn: 'max' | 'min', args: readonly Operand[], s: Scope, depth: number): number {
  if (args.length === 0) throw fail(`${fn} needs at least one argument`);
  let result = fn === 'max' ? -Infinity : Infinity;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as Operand;
    const v = operandValue(arg, s, true, depth);
    if (typeof v !== 'number' || Number.isNaN(v)) throw mismatch(argumentName(arg, i, fn, s), v, 'number');
    if (fn === 'max' ? v > result : v < result) result = v;
  }
  return result;
}

/** Σ items[i][total] over the items where cond holds; cond's field names read the item. */
function sumItemIf(args: readonly Operand[], s: Scope, depth: number): number {
  if (args.length !== 3) throw fail('sumItemIf needs 3 arguments: an array field, an item field name, a condition');
  const listArg = args[0];
  const totalName = args[1];
  const cond = args[2];
  const listName = typeof listArg === 'string' ? listArg : isFieldRef(listArg) ? listArg.field : null;
  if (listName === null) throw fail('the first argument of sumItemIf must be an array field');
  if (typeof totalName !== 'string' || totalName === '' || isForbiddenName(totalName)) {
    throw fail('the second argument of sumItemIf must be an item field name');
  }
  if (!isLeaf(cond) && !isAndGroup(cond) && !isOrGroup(cond))
    throw fail('the third argument of sumItemIf must be a condition');
  const list = readField(s, listName);
  if (list === null) return 0;
  if (!Array.isArray(list)) throw mismatch(fieldName(s, listName), list, 'array');
  const item: Scope = { doc: EMPTY, fields: null, parent: s, arrayName: listName, index: 0 };
  let sum = 0;
  for (let i = 0; i < list.length; i++) {
    const element: unknown = list[i];
    item.index = i;
    if (!isPlainObject(element)) throw mismatch(`field "${scopePath(s)}${listName}[${i}]"`, element, 'an object');
    item.doc = element;
    if (!evalCondition(cond, item, depth + 1)) continue;
    const total = Object.hasOwn(element, totalName) ? element[totalName] : null;
    if (typeof total !== 'number' || Number.isNaN(total)) throw mismatch(fieldName(item, totalName), total, 'number');
    sum += total;
  }
  return sum;
}

/** contains(A, B): A read like a left operand (bare string = field), B like a right one (bare string = literal). */
function containsFunction(args: readonly Operand[], s: Scope, depth: number): boolean {
  if (args.length !== 2) throw fail('contains needs 2 arguments');
  const a = args[0] as Operand;
  const b = args[1] as Operand;
  const hay = operandValue(a, s, true, depth);
  const needle = operandValue(b, s, false, depth);
  return contains(comparisonKind(a, b, hay, needle, 'contains', s), a, b, hay, needle, s);
}

function describeOperand(o: Operand, isLeft: boolean, s: Scope): string {
  if (typeof o === 'string') return isLeft ? fieldName(s, o) : `value ${quote(o)}`;
  if (isFieldRef(o)) return fieldName(s, o.field);
  if (isFunctionCall(o)) return `the result of ${String(o.fn)}()`;
  return `value ${String(o)}`;
}

function argumentName(arg: Operand, i: number, fn: string, s: Scope): string {
  const isField = typeof arg === 'string' || isFieldRef(arg);
  return isField ? describeOperand(arg, true, s) : `argument ${i + 1} of ${fn}`;
}

function fieldName(s: Scope, name: string): string {
  return `field "${scopePath(s)}${name}"`;
}

/** "items[2]." inside a sumItemIf item, "" at the document level. */
function scopePath(s: Scope): string {
  return s.parent === null ? '' : `${scopePath(s.parent)}${s.arrayName}[${s.index}].`;
}

function mismatch(what: string, value: unknown, expected: string, op?: Operator): EngineError {
  return fail(`${what} is ${describeValue(value)}, expected ${expected}${op === undefined ? '' : ` for "${op}"`}`);
}

function fail(message: string): EngineError {
  return new EngineError('condition_error', PREFIX + message);
}
