import { describe, expect, it } from 'vitest';
import {
  atLeast,
  checkOptions,
  integer,
  InvalidOptionError,
  nonNegative,
  type OptionDefaults,
  positive,
  resolveOptions,
} from './options.ts';

interface WidgetOptions {
  name: string;
  pollMs?: number;
  batch?: number;
  label?: string;
  now?: () => number;
}

const DEFAULTS = Object.freeze({ pollMs: 1000, batch: 100, now: Date.now } satisfies OptionDefaults<WidgetOptions>);

describe('options - resolveOptions', () => {
  it('fills in the fields left undefined and keeps the given ones', () => {
    const now = () => 7;
    const resolved = resolveOptions(DEFAULTS, { name: 'w', pollMs: 5, batch: undefined, now });
    expect(resolved).toEqual({ name: 'w', pollMs: 5, batch: 100, now });
  });

  it('keeps falsy values that are not undefined', () => {
    expect(resolveOptions(DEFAULTS, { name: '', pollMs: 0 })).toMatchObject({ name: '', pollMs: 0, batch: 100 });
  });

  it('leaves the given object and the defaults unchanged', () => {
    const given: WidgetOptions = { name: 'w' };
    resolveOptions(DEFAULTS, given);
    expect(given).toEqual({ name: 'w' });
    expect(DEFAULTS).toEqual({ pollMs: 1000, batch: 100, now: Date.now });
  });
});

describe('options - checkOptions', () => {
  it('passes options within their rules', () => {
    expect(() =>
      checkOptions(
        'Widget',
        { pollMs: 1, batch: 2, gap: 0, n: 3 },
        {
          pollMs: positive,
          batch: atLeast(1),
          gap: nonNegative,
          n: integer(1, 3),
        },
      ),
    ).not.toThrow();
  });

  it('names the first option that breaks its rule, with a stable code', () => {
    const check = () => checkOptions('Widget', { pollMs: -1, batch: 0 }, { pollMs: positive, batch: atLeast(1) });
    expect(check).toThrow(InvalidOptionError);
    expect(check).toThrow(RangeError);
    expect(check).toThrow('Widget: option pollMs must be positive, got -1');
    try {
      check();
    } catch (err) {
      expect(err).toMatchObject({ code: 'invalid_option', component: 'Widget', option: 'pollMs' });
    }
  });

  it('refuses NaN and non-integers where an integer is asked for', () => {
    expect(() => checkOptions('W', { pollMs: Number.NaN }, { pollMs: positive })).toThrow(/pollMs/);
    expect(() => checkOptions('W', { n: 2.5 }, { n: integer(1) })).toThrow('W: option n must be an integer ≥ 1');
    expect(() => checkOptions('W', { n: 9 }, { n: integer(1, 4) })).toThrow('must be an integer from 1 to 4');
  });
});
