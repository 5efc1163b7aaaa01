/** Where a CLI verb writes; one line per call. Injected so verbs can be run in-process by tests. */
export interface CliIo {
  out(line: string): void;
  err(line: string): void;
}

/** A CLI verb module: runs with the arguments after the verb name, returns the exit code. */
export interface VerbModule {
  run(args: string[], io: CliIo): Promise<number>;
}

export const processIo: CliIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};
