/**
 * How every component takes its options: one `XOptions` type whose optional
 * fields carry their `@default`, one frozen `DEFAULT_X_OPTIONS` object holding
 * those defaults, and {@link resolveOptions} filling them in once, in the
 * constructor or factory, into a field named `options`. A default that depends
 * on another option (e.g. `10 × pollMs`) or must be fresh per instance (a
 * private metrics registry) is computed right after, next to its `@default`.
 *
 * @example
 * export const DEFAULT_RELAY_OPTIONS = Object.freeze({ pollMs: 1000, batch: 100 } satisfies OptionDefaults<RelayOptions>);
 * this.options = resolveOptions(DEFAULT_RELAY_OPTIONS, given);
 * checkOptions('Relay', this.options, { pollMs: positive, batch: integer(1) });
 */

/** The keys of `O` whose fields are optional. */
export type OptionalKeys<O> = { [K in keyof O]-?: Record<never, never> extends Pick<O, K> ? K : never }[keyof O];

/** Default values for some of the optional fields of `O` (what a `DEFAULT_X_OPTIONS` object may hold). */
export type OptionDefaults<O> = { readonly [K in OptionalKeys<O>]?: Exclude<O[K], undefined> };

/** `O` once the fields named by the defaults `D` are filled in (never undefined). */
export type Resolved<O, D> = Omit<O, keyof D> & { readonly [K in keyof D & keyof O]-?: Exclude<O[K], undefined> };

/** `given` with each field it leaves undefined taken from `defaults`; `given` itself is not changed. */
export function resolveOptions<O extends object, D extends OptionDefaults<O>>(defaults: D, given: O): Resolved<O, D> {
  const resolved: Record<string, unknown> = { ...(given as Record<string, unknown>) };
  for (const [key, value] of Object.entries(defaults)) if (resolved[key] === undefined) resolved[key] = value;
  return resolved as Resolved<O, D>;
}

/** An option whose value cannot work (a negative timeout, a zero batch); thrown at construction. */
export class InvalidOptionError extends RangeError {
  override readonly name = 'InvalidOptionError';
  readonly code = 'invalid_option';
  readonly retryable = false;
  constructor(
    /** The component whose options were refused, e.g. `OutboxRelay`. */
    readonly component: string,
    /** The option at fault. */
    readonly option: string,
    problem: string,
  ) {
    super(`${component}: option ${option} ${problem}`);
  }
}

/** What a numeric option must be. */
export interface OptionRule {
  /** Completes "must be …", e.g. `positive`. */
  readonly description: string;
  readonly test: (value: number) => boolean;
}

/** > 0 (NaN fails every rule). */
export const positive: OptionRule = { description: 'positive', test: (v) => v > 0 };

/** ≥ 0. */
export const nonNegative: OptionRule = { description: 'not negative', test: (v) => v >= 0 };

/** ≥ `min`. */
export function atLeast(min: number): OptionRule {
  return { description: `at least ${min}`, test: (v) => v >= min };
}

/** An integer from `min` to `max`. */
export function integer(min: number, max = Number.MAX_SAFE_INTEGER): OptionRule {
  const description = max === Number.MAX_SAFE_INTEGER ? `an integer ≥ ${min}` : `an integer from ${min} to ${max}`;
  return { description, test: (v) => Number.isInteger(v) && v >= min && v <= max };
}

type NumericKeys<O> = { [K in keyof O]-?: O[K] extends number | undefined ? K : never }[keyof O];

/** Throws InvalidOptionError naming the first option (in `rules` order) whose value breaks its rule. */
export function checkOptions<O extends object>(
  component: string,
  options: O,
  rules: { readonly [K in NumericKeys<O>]?: OptionRule },
): void {
  for (const [option, rule] of Object.entries(rules) as [string, OptionRule][]) {
    const value = (options as Record<string, unknown>)[option];
    if (typeof value !== 'number' || !rule.test(value))
      throw new InvalidOptionError(component, option, `must be ${rule.description}, got ${String(value)}`);
  }
}
