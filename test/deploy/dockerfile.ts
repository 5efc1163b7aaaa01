import { readFileSync } from 'node:fs';
import { DEPLOY, ROOT } from './deploy-files.ts';

/** One instruction of a Dockerfile: `RUN npm ci` → { op: 'RUN', args: 'npm ci' } (continuations joined). */
export interface Instruction {
  op: string;
  args: string;
}

/** A build stage: its `FROM … AS name` and its instructions. */
export interface Stage {
  name: string;
  from: string;
  instructions: Instruction[];
}

/** deploy/docker/Dockerfile, split into stages. */
export function readDockerfile(): Stage[] {
  const text = readFileSync(`${DEPLOY}docker/Dockerfile`, 'utf8').replace(/\\\n/g, ' ');
  const stages: Stage[] = [];
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const [, op = '', args = ''] = /^(\S+)\s*(.*)$/.exec(trimmed) ?? [];
    const instruction = { op: op.toUpperCase(), args: args.replace(/\s+/g, ' ').trim() };
    if (instruction.op === 'FROM') {
      const [, from = '', name = ''] = /^(\S+)(?: AS (\S+))?$/i.exec(instruction.args) ?? [];
      stages.push({ name, from, instructions: [] });
    } else stages.at(-1)?.instructions.push(instruction);
  }
  return stages;
}

/**
 * Whether the build context sends `path` (relative to the repository root) under the root's .dockerignore:
 * the last pattern that matches decides, `!` re-includes; `**` spans directories, `*` does not.
 */
export function inBuildContext(path: string): boolean {
  const patterns = readFileSync(`${ROOT}.dockerignore`, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  let included = true;
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const pattern = negated ? raw.slice(1) : raw;
    if (globToRegExp(pattern).test(path)) included = negated;
  }
  return included;
}

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      re += '.*';
      i++;
      if (glob[i + 1] === '/') i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}(/.*)?$`);
}

/** The commands .ci/run runs, in order (the lines that start with `npm `). */
export function ciCommands(): string[] {
  return readFileSync(`${ROOT}.ci/run`, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('npm '));
}

/** What scripts/smoke-built-cli.ts installs as production does (its INSTALLED list). */
export function smokeInstalled(): string[] {
  const text = readFileSync(`${ROOT}scripts/smoke-built-cli.ts`, 'utf8');
  const list = /const INSTALLED = \[([^\]]*)\]/.exec(text)?.[1];
  if (list === undefined) throw new Error('scripts/smoke-built-cli.ts has no INSTALLED list');
  return [...list.matchAll(/'([^']+)'/g)].map((m) => m[1]!);
}
