import type { FieldType, WorkflowDefinition } from './definition-schema.ts';
import type { EngineErrorDetail } from './errors.ts';

/** What every semantic rule of `validateDefinition` reads, and where it reports. */
export interface ValidationContext {
  readonly def: WorkflowDefinition;
  /** Node id → index of its first occurrence in `nodes`. */
  readonly nodeIndex: ReadonlyMap<string, number>;
  /** Node id → indexes in `associations` leaving it, in file order (the order they are tried). */
  readonly outgoing: ReadonlyMap<string, readonly number[]>;
  /** Declared fields with no prototype, so `constructor` or `toString` never look declared. */
  readonly fields: Readonly<Record<string, FieldType>>;
  report(path: string, message: string): void;
}

export const TERMINAL_KINDS: ReadonlySet<string> = new Set(['approved', 'completed']);

export function createContext(def: WorkflowDefinition, errors: EngineErrorDetail[]): ValidationContext {
  const nodeIndex = new Map<string, number>();
  def.nodes.forEach((node, i) => {
    if (!nodeIndex.has(node.id)) nodeIndex.set(node.id, i);
  });
  const outgoing = new Map<string, number[]>();
  def.associations.forEach((assoc, i) => {
    outgoing.set(assoc.from, [...(outgoing.get(assoc.from) ?? []), i]);
  });
  const fields: Record<string, FieldType> = Object.assign(Object.create(null) as object, def.fields);
  return { def, nodeIndex, outgoing, fields, report: (path, message) => errors.push({ path, message }) };
}

/** The declared type of a field, or undefined when it is not declared. */
export function fieldType(ctx: ValidationContext, name: string): FieldType | undefined {
  return Object.hasOwn(ctx.fields, name) ? ctx.fields[name] : undefined;
}
