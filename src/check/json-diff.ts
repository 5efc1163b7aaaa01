/** The first place two JSON values differ: its path and the value on each side (undefined = absent). */
export interface JsonDifference {
  path: string;
  expected: unknown;
  actual: unknown;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Depth-first comparison of two JSON values (as `JSON.parse` returns them):
 * undefined when they are deeply equal, else the first differing path in
 * `a.b[2].c` form. Object key order does not matter.
 */
export function firstDifference(expected: unknown, actual: unknown, path = ''): JsonDifference | undefined {
  if (Array.isArray(expected) && Array.isArray(actual)) {
    const n = Math.max(expected.length, actual.length);
    for (let i = 0; i < n; i++) {
      const d = firstDifference(expected[i], actual[i], `${path}[${i}]`);
      if (d) return d;
    }
    return undefined;
  }
  if (isObject(expected) && isObject(actual)) {
    const keys = [...new Set([...Object.keys(expected), ...Object.keys(actual)])].sort();
    for (const k of keys) {
      const d = firstDifference(expected[k], actual[k], path === '' ? k : `${path}.${k}`);
      if (d) return d;
    }
    return undefined;
  }
  return Object.is(expected, actual) ? undefined : { path: path === '' ? '(root)' : path, expected, actual };
}

/** A value as its JSON column stores it: undefined fields dropped, class instances flattened. */
export function asStored<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
