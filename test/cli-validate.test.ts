import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const EXAMPLES = readdirSync(join(ROOT, 'examples'))
  .filter((f) => f.endsWith('.json'))
  .map((f) => `examples/${f}`);
const tmp = mkdtempSync(join(tmpdir(), 'bflow-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `node bin/bflow.js …` from the repository root; rejects on a timeout or a signal. */
function bflow(...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    // BFLOW_FROM_SOURCE: the sources under test, never a dist/ built from an older tree.
    const env = { ...process.env, BFLOW_FROM_SOURCE: '1' };
    execFile(
      process.execPath,
      ['bin/bflow.js', ...args],
      { cwd: ROOT, timeout: 20_000, env },
      (error, stdout, stderr) => {
        if (error === null) resolve({ code: 0, stdout, stderr });
        else if (typeof error.code === 'number') resolve({ code: error.code, stdout, stderr });
        else reject(error);
      },
    );
  });
}

/** Writes a variant of examples/purchase-order.json to the temp dir and returns its path. */
function brokenPurchaseOrder(
  name: string,
  mutate: (def: { nodes: Record<string, unknown>[]; associations: Record<string, unknown>[] }) => void,
): string {
  const def = JSON.parse(readFileSync(join(ROOT, 'examples/purchase-order.json'), 'utf8'));
  mutate(def);
  const file = join(tmp, name);
  writeFileSync(file, JSON.stringify(def));
  return file;
}

const STACK_FRAME = /^\s+at /m;

describe('cli validate - valid files', () => {
  it.each(EXAMPLES)('cli validate - %s exits 0', async (file) => {
    const def = JSON.parse(readFileSync(join(ROOT, file), 'utf8'));
    const run = await bflow('validate', file);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toBe(`${file}: valid (${def.nodes.length} nodes, ${def.associations.length} associations)\n`);
  });
});

describe('cli validate - invalid files', () => {
  it('cli validate - a broken definition exits 1 with path-named messages', async () => {
    const file = brokenPurchaseOrder('dangling.json', (def) => {
      def.associations[5]!['to'] = 'board';
      def.nodes[1]!['actions'] = ['approve', 'sign'];
    });
    const run = await bflow('validate', file);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`${file}: invalid\n`);
    expect(run.stdout).toMatch(/^ {2}associations\[5\]\.to: no node with id "board"/m);
    expect(run.stdout).toMatch(/^ {2}nodes\[1\]\.actions\[1\]: unknown action "sign"/m);
  });

  it('cli validate - valid and invalid files together: each reported, exit 1', async () => {
    const file = brokenPurchaseOrder('no-else.json', (def) => {
      def.associations.splice(3, 1);
    });
    const run = await bflow('validate', 'examples/leave-request.json', file);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('examples/leave-request.json: valid (6 nodes, 6 associations)');
    expect(run.stdout).toMatch(/^ {2}nodes\[1\]: when none of the conditions of associations\[1\], \[2\] hold/m);
  });

  it('cli validate - a root that is not an object is reported at (root)', async () => {
    const file = join(tmp, 'array.json');
    writeFileSync(file, '[]');
    const run = await bflow('validate', file);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^ {2}\(root\): /m);
  });
});

describe('cli validate - unreadable input', () => {
  it('cli validate - bad JSON exits 2 naming the file and the JSON error', async () => {
    const file = join(tmp, 'bad.json');
    writeFileSync(file, '{"app": "x",, }');
    const run = await bflow('validate', file, 'examples/leave-request.json');
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(new RegExp(`^${escapeRegExp(file)}: not valid JSON \\(.+\\)$`, 'm'));
    expect(run.stderr).not.toMatch(STACK_FRAME);
    expect(run.stdout).toContain('examples/leave-request.json: valid');
  });

  it('cli validate - a missing file exits 2 naming the file', async () => {
    const file = join(tmp, 'missing.json');
    const run = await bflow('validate', file);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`${file}: cannot read file (ENOENT`);
    expect(run.stderr).not.toMatch(STACK_FRAME);
  });

  it('cli validate - no file given exits 2 with the usage', async () => {
    const run = await bflow('validate');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('usage: bflow validate FILE');
  });
});

describe('cli - dispatch', () => {
  it('cli - an unknown verb exits 2 listing the verbs', async () => {
    const run = await bflow('frobnicate');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('unknown verb "frobnicate"; verbs: validate, ');
    expect(run.stderr).toContain('help');
  });

  it('cli - help lists the verbs and exits 0', async () => {
    const run = await bflow('help');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('validate FILE [FILE…]');
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
