const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/**
 * Formats a location in a definition the way error details name it:
 * `["nodes", 2, "exit", "approve"]` → `nodes[2].exit.approve`; the root is `""`.
 * Keys that are not identifiers are quoted (`fields["unit-price"]`) so the path stays unambiguous.
 * `base` is an already formatted path to continue: `jsonPath(['exit', 'approve'], 'nodes[2]')`.
 */
export function jsonPath(segments: readonly PropertyKey[], base = ''): string {
  let out = base;
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else {
      const key = String(segment);
      out += IDENTIFIER.test(key) ? `${out === '' ? '' : '.'}${key}` : `[${JSON.stringify(key)}]`;
    }
  }
  return out;
}

/** Lists values for a message: `"a", "b", "c"` (or `(none)`), truncated past `max` items. */
export function quoteList(values: readonly string[], max = 10): string {
  if (values.length === 0) return '(none)';
  const shown = values.slice(0, max).map((v) => JSON.stringify(v));
  return values.length > max ? `${shown.join(', ')}, … (${values.length - max} more)` : shown.join(', ');
}
