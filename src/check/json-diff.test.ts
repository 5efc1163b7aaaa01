import { describe, expect, it } from 'vitest';
import { firstDifference } from './json-diff.ts';

describe('json diff', () => {
  it('json diff - equal values (any key order) have no difference', () => {
    expect(firstDifference({ a: 1, b: [1, { c: 'x' }] }, { b: [1, { c: 'x' }], a: 1 })).toBeUndefined();
  });

  it('json diff - names the first differing path, absent keys and array elements included', () => {
    expect(firstDifference({ s: [{ t: [{ st: 'done' }] }] }, { s: [{ t: [{ st: 'open' }] }] })).toEqual({
      path: 's[0].t[0].st',
      expected: 'done',
      actual: 'open',
    });
    expect(firstDifference({ a: 1 }, { a: 1, b: 2 })).toEqual({ path: 'b', expected: undefined, actual: 2 });
    expect(firstDifference([1, 2], [1])).toEqual({ path: '[1]', expected: 2, actual: undefined });
    expect(firstDifference(1, '1')).toEqual({ path: '(root)', expected: 1, actual: '1' });
    expect(firstDifference({ a: [1] }, { a: { 0: 1 } })).toEqual({ path: 'a', expected: [1], actual: { 0: 1 } });
  });
});
