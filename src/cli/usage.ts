/** A bad argument or setting, named: the CLI prints it and exits with code 2. */
export class UsageError extends Error {}

/**
 * The `--options` of `args` (no positionals, none unknown); a refused line is a UsageError naming why. Called
 * as `parseOptions(args, (a) => parseArgs({ ...a, options: {…} }))`, so that the values keep their types.
 */
export function parseOptions<T>(
  args: string[],
  parse: (strict: { args: string[]; strict: true; allowPositionals: false }) => T,
): T {
  try {
    return parse({ args, strict: true, allowPositionals: false });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}
