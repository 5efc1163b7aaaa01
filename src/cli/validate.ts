import { readFile } from 'node:fs/promises';
import { validateDefinition } from '../engine/index.ts';
import type { CliIo } from './io.ts';

/** Exit codes: 0 all valid, 1 some definition invalid, 2 usage error or a file unreadable / not JSON. */
export async function run(files: string[], io: CliIo): Promise<number> {
  if (files.length === 0) {
    io.err('usage: bflow validate FILE [FILE…]');
    return 2;
  }
  let code = 0;
  for (const file of files) code = Math.max(code, await validateFile(file, io));
  return code;
}

async function validateFile(file: string, io: CliIo): Promise<number> {
  const input = await readJson(file);
  if (!input.ok) {
    io.err(`${file}: ${input.message}`);
    return 2;
  }
  const result = validateDefinition(input.value);
  if (result.ok) {
    const { nodes, associations } = result.definition;
    io.out(`${file}: valid (${nodes.length} nodes, ${associations.length} associations)`);
    return 0;
  }
  io.out(`${file}: invalid`);
  for (const e of result.errors) io.out(`  ${e.path === '' ? '(root)' : e.path}: ${e.message}`);
  return 1;
}

type JsonRead = { ok: true; value: unknown } | { ok: false; message: string };

async function readJson(file: string): Promise<JsonRead> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    return { ok: false, message: `cannot read file (${errorMessage(error)})` };
  }
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    return { ok: false, message: `not valid JSON (${errorMessage(error)})` };
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
