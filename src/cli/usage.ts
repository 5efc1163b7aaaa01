import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A bad argument or setting, named: the CLI prints it and exits with code 2. */
export class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;

/** The `--options` of `args` (no positionals, none unknown); a refused line is a UsageError naming why. */
export function parseOptions<O extends Options>(args: string[], options: O) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}
