import type { FieldType } from './definition-schema.ts';
import { EngineError, type EngineErrorDetail } from './errors.ts';
import type { StepBuilder } from './step-builder.ts';

export type FieldChanges = Record<string, [unknown, unknown]>;

/**
 * Largest document, in bytes of JSON. A runtime's state travels as one NATS message (max_payload 1 MiB by
 * default); the gateway caps each document and patch at this size, and the engine caps what patches merge into,
 * so a document grown field by field can't outgrow the bus after its commit.
 */
export const MAX_DOCUMENT_BYTES = 262_144;

const utf8 = new TextEncoder();

/**
 * Applies a document patch after checking every field: declared, of its
 * declared type, and inside `editable` (the actor's editable fields, or 'all').
 * Refuses the whole patch, naming each offending field, if any check fails.
 */
export function applyPatch(
  b: StepBuilder,
  patch: Readonly<Record<string, unknown>>,
  editable: ReadonlySet<string> | 'all',
): FieldChanges {
  const fields = b.wf.fields;
  const invalid: EngineErrorDetail[] = [];
  const locked: string[] = [];
  for (const [name, value] of Object.entries(patch)) {
    const type = Object.hasOwn(fields, name) ? fields[name] : undefined;
    if (type === undefined)
      invalid.push({ path: `patch.${name}`, message: `"${name}" is not a field of this workflow` });
    else if (!fitsType(type, value))
      invalid.push({ path: `patch.${name}`, message: `"${name}" must be a ${type} (or null)` });
    else if (editable !== 'all' && !editable.has(name)) locked.push(name);
  }
  if (invalid.length > 0) throw new EngineError('validation_failed', 'the patch has invalid fields', invalid);
  if (locked.length > 0) {
    const errors = locked.map((name) => ({
      path: `patch.${name}`,
      message: `"${name}" is not in your editable zones here`,
    }));
    throw new EngineError('fields_not_editable', `fields not editable at this stage: ${locked.join(', ')}`, errors);
  }
  return writeFields(b, patch);
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Problems with a whole document given at start: declared fields must have
 * their declared type; other fields are kept as the ERP sent them (conditions
 * never read undeclared fields), except prototype keys.
 */
export function documentErrors(
  fields: Readonly<Record<string, FieldType>>,
  doc: Readonly<Record<string, unknown>>,
): EngineErrorDetail[] {
  const errors: EngineErrorDetail[] = [];
  for (const [name, value] of Object.entries(doc)) {
    if (FORBIDDEN_KEYS.has(name)) errors.push({ path: `doc.${name}`, message: 'reserved key' });
    const type = Object.hasOwn(fields, name) ? fields[name] : undefined;
    if (type !== undefined && !fitsType(type, value))
      errors.push({ path: `doc.${name}`, message: `"${name}" must be a ${type} (or null)` });
  }
  return errors;
}

function writeFields(b: StepBuilder, patch: Readonly<Record<string, unknown>>): FieldChanges {
  const doc = { ...b.state.doc };
  const changes: FieldChanges = {};
  for (const [name, value] of Object.entries(patch)) {
    const before = Object.hasOwn(doc, name) ? doc[name] : null;
    if (sameValue(before, value)) continue;
    changes[name] = [before, value];
    doc[name] = value;
  }
  const bytes = utf8.encode(JSON.stringify(doc)).length;
  if (bytes > MAX_DOCUMENT_BYTES) {
    throw new EngineError(
      'validation_failed',
      `the document would be ${bytes} bytes of JSON, more than ${MAX_DOCUMENT_BYTES}`,
      [{ path: 'patch', message: `the patched document would be larger than ${MAX_DOCUMENT_BYTES} bytes of JSON` }],
    );
  }
  b.state.doc = doc;
  return changes;
}

function fitsType(type: FieldType, value: unknown): boolean {
  if (value === null) return true;
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'date':
      return typeof value === 'string' && !Number.isNaN(Date.parse(value));
    case 'employee':
      return typeof value === 'string' && value.length > 0;
    case 'array':
      return Array.isArray(value);
  }
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  return typeof a === 'object' && typeof b === 'object' && JSON.stringify(a) === JSON.stringify(b);
}
