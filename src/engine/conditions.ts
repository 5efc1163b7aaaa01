/**
 * The condition language of workflow definitions (docs/definitions.md#conditions):
 * `evaluateCondition` at run time, `checkCondition` for the validator. Pure
 * TypeScript: no eval, no Function, no I/O.
 *
 * Semantics decided here:
 * - Operands. Left: a bare string is a field name; a number/boolean/null literal
 *   is refused by the check. Right: a bare string/number/boolean/null is a
 *   literal. `{field}` and `{fn, args}` work on both sides. Inside a sumItemIf item
 *   condition every field reference (bare-string left and `{field}`) reads the item.
 * - Types. Comparisons use the declared type of the left field (or a function's
 *   result type: max/min/sumItemIf → number, contains → boolean), else of a
 *   right `{field}`. Item fields are untyped: the right literal's JS type decides,
 *   else the values'; strings under `<`…`>=` are dates. Values are never coerced:
 *   "12" is not a number field's 12 — a wrong JS type throws `condition_error`.
 * - Missing. A missing or undefined value reads as null. `=`/`!=` with null are
 *   plain null tests (no error); ordering with null throws; `is null` tests for
 *   it; `is true`/`is false` are false on null (a missing flag is neither).
 * - Dates are ISO 8601 strings compared as instants (iso-instant.ts); a date-time
 *   without an offset is UTC, so `2024-05-01` = `2024-05-01T00:00:00Z`.
 * - Ordering (`<` `<=` `>` `>=`) only for number and date. Operators per type:
 *   number/date all but membership; string `= != contains not_contain is`;
 *   boolean, employee `= != is`; array `contains not_contain is`.
 * - Membership. String: substring. Array: an element `===` the (primitive) needle,
 *   so objects in an array never match. A missing haystack is empty: `contains`
 *   false, `not_contain` true. A null or object needle throws.
 * - Groups short-circuit left to right; an empty group (refused by the check) is
 *   true for `and`, false for `or`. Nesting deeper than 32 levels is refused.
 * - Functions. max/min: ≥ 1 numeric argument, null is an error. sumItemIf(list,
 *   total, COND): a missing list sums to 0; every item must be an object and every
 *   matching item's `total` a number. contains(A, B): as the `contains` operator,
 *   A read like a left operand, B like a right one.
 * - Field names `__proto__`, `constructor`, `prototype` are refused everywhere,
 *   and only own properties of the document and items are read.
 */
export { evaluateCondition } from './condition-eval.ts';
export { checkCondition } from './condition-check.ts';
export { isoInstant } from './iso-instant.ts';
