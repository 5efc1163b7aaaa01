import type { Condition, ConditionLeaf, FieldRef, FieldType, FunctionCall, Operator } from './definition-schema.ts';

/**
 * What the condition evaluator and the static check agree on: how a node of the
 * condition tree is recognised, which operators fit which field type, the depth
 * limit and the refused field names. Shapes are tested with Object.hasOwn so a
 * polluted prototype can never turn an object into a field reference.
 */

/** Deeper trees are refused: they are never written by hand and would risk the stack. */
export const MAX_CONDITION_DEPTH = 32;

/** Names that would reach Object.prototype machinery if ever used as a key. */
export function isForbiddenName(name: string): boolean {
  return name === '__proto__' || name === 'constructor' || name === 'prototype';
}

const ORDERED = new Set<Operator>(['=', '!=', '<', '<=', '>', '>=', 'is']);
const TEXT = new Set<Operator>(['=', '!=', 'contains', 'not_contain', 'is']);
const EQUALITY = new Set<Operator>(['=', '!=', 'is']);
const MEMBERSHIP = new Set<Operator>(['contains', 'not_contain', 'is']);

/** The operators a left operand of each type accepts. */
export const OPERATORS_BY_TYPE: Readonly<Record<FieldType, ReadonlySet<Operator>>> = {
  number: ORDERED,
  date: ORDERED,
  string: TEXT,
  boolean: EQUALITY,
  employee: EQUALITY,
  array: MEMBERSHIP,
};

/** How each type is named in messages. */
export const TYPE_NAMES: Readonly<Record<FieldType, string>> = {
  number: 'number',
  date: 'date (ISO 8601 string)',
  string: 'string',
  boolean: 'boolean',
  employee: 'employee (id string)',
  array: 'array',
};

export function isOrdering(op: Operator): boolean {
  return op === '<' || op === '<=' || op === '>' || op === '>=';
}

export function isMembership(op: Operator): boolean {
  return op === 'contains' || op === 'not_contain';
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isFieldRef(value: unknown): value is FieldRef {
  return isPlainObject(value) && Object.hasOwn(value, 'field');
}

export function isFunctionCall(value: unknown): value is FunctionCall {
  return isPlainObject(value) && Object.hasOwn(value, 'fn');
}

export function isAndGroup(value: unknown): value is { and: Condition[] } {
  return isPlainObject(value) && Object.hasOwn(value, 'and');
}

export function isOrGroup(value: unknown): value is { or: Condition[] } {
  return isPlainObject(value) && Object.hasOwn(value, 'or');
}

/** Recognised by its `op` alone (one lookup on the hot path); a missing left/right then reads as an invalid operand. */
export function isLeaf(value: unknown): value is ConditionLeaf {
  return isPlainObject(value) && Object.hasOwn(value, 'op');
}

/** A short, bounded rendering of a value for error messages (never on the happy path). */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'null (missing)';
  if (typeof value === 'string') return `a string (${quote(value)})`;
  if (typeof value === 'number' || typeof value === 'boolean') return `a ${typeof value} (${String(value)})`;
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

export function quote(text: string): string {
  return `"${text.length > 40 ? `${text.slice(0, 40)}…` : text}"`;
}
