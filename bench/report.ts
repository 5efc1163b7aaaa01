import { mkdirSync, writeFileSync } from 'node:fs';

/** `--seconds N` from argv, else the default. */
export function secondsArg(fallback: number): number {
  const i = process.argv.indexOf('--seconds');
  const value = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`--seconds must be a positive number, got ${process.argv[i + 1]}`);
  return value;
}

/** `NAME N` from argv (NAME like `--concurrency`), a positive integer, else the default. */
export function intArg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const value = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(value) || value <= 0)
    throw new Error(`${name} must be a positive integer, got ${process.argv[i + 1]}`);
  return value;
}

/** `NAME VALUE` from argv (NAME like `--cpu-prof`), else undefined. */
export function stringArg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

export function printTable(title: string, rows: readonly (readonly string[])[]): void {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  console.log(`\n${title}`);
  for (const row of rows)
    console.log(
      '  ' +
        row
          .map((cell, c) => cell.padEnd(widths[c]!))
          .join('  ')
          .trimEnd(),
    );
}

/** Machine-readable result under bench/results/NAME.json. */
export function writeResult(name: string, data: Record<string, unknown>): void {
  const dir = new URL('./results/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  const file = new URL(`${name}.json`, dir);
  writeFileSync(file, JSON.stringify({ at: new Date().toISOString(), node: process.version, ...data }, null, 2));
  console.log(`\nresults: bench/results/${name}.json`);
}
