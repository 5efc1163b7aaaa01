import type { Association } from './definition-schema.ts';
import { checkCondition } from './conditions.ts';
import { quoteList } from './json-path.ts';
import { TERMINAL_KINDS, type ValidationContext } from './validation-context.ts';

/** Association rules: existing ends, no way out of a terminal, conditions, else and shadowed branches. */
export function checkAssociations(ctx: ValidationContext): void {
  ctx.def.associations.forEach((assoc, i) => {
    checkEnds(ctx, assoc, i);
    if (assoc.condition !== undefined) {
      for (const e of checkCondition(assoc.condition, ctx.fields, `associations[${i}].condition`))
        ctx.report(e.path, e.message);
    }
    if (assoc.else === true && assoc.condition !== undefined) {
      ctx.report(
        `associations[${i}].condition`,
        'an else branch is taken when no other holds, so it cannot have a condition; remove "condition" or "else"',
      );
    }
  });
  for (const [from, indexes] of ctx.outgoing) {
    checkElseCount(ctx, from, indexes);
    checkShadowed(ctx, from, indexes);
  }
}

function checkEnds(ctx: ValidationContext, assoc: Association, i: number): void {
  for (const end of ['from', 'to'] as const) {
    if (!ctx.nodeIndex.has(assoc[end])) {
      ctx.report(
        `associations[${i}].${end}`,
        `no node with id "${assoc[end]}"; use one of ${quoteList([...ctx.nodeIndex.keys()])}`,
      );
    }
  }
  const fromIndex = ctx.nodeIndex.get(assoc.from);
  const from = fromIndex === undefined ? undefined : ctx.def.nodes[fromIndex];
  if (from !== undefined && TERMINAL_KINDS.has(from.kind)) {
    ctx.report(
      `associations[${i}].from`,
      `"${from.id}" is a terminal (${from.kind}) node: the runtime finishes there, so nothing leaves it; remove this association`,
    );
  }
}

export const isElse = (assoc: Association): boolean => assoc.else === true;
const isUnconditional = (assoc: Association): boolean => !isElse(assoc) && assoc.condition === undefined;

function checkElseCount(ctx: ValidationContext, from: string, indexes: readonly number[]): void {
  const elses = indexes.filter((i) => isElse(ctx.def.associations[i]!));
  for (const i of elses.slice(1)) {
    ctx.report(
      `associations[${i}].else`,
      `a second else branch from "${from}" (associations[${elses[0]}] is one already); keep only one`,
    );
  }
}

/** Branches tried after an unconditional one, and any else beside it, can never be taken. */
function checkShadowed(ctx: ValidationContext, from: string, indexes: readonly number[]): void {
  const first = indexes.find((i) => isUnconditional(ctx.def.associations[i]!));
  if (first === undefined) return;
  for (const i of indexes) {
    if (i > first || (i !== first && isElse(ctx.def.associations[i]!))) {
      ctx.report(
        `associations[${i}]`,
        `never taken: associations[${first}] leaves "${from}" with no condition, so it is always taken first; ` +
          `give associations[${first}] a condition or remove this association`,
      );
    }
  }
}
