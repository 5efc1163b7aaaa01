import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from './deploy-files.ts';
import { inBuildContext, smokeInstalled } from './dockerfile.ts';

/**
 * The image's file system, built without Docker (no daemon on the CI machines): the build context the root
 * .dockerignore lets through is copied to a temporary directory, the build stage's `npm run build` runs
 * there, and the runtime stage's layout (the smoke test's list, dist/ from the build) runs the built CLI.
 * node_modules is linked from the checkout instead of `npm ci` (the registry is not needed for the check;
 * .ci/run's smoke test does the production install).
 */
const work = mkdtempSync(join(tmpdir(), 'bflow-image-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Copies the files of the build context (repository files .dockerignore lets through) into `to`. */
function copyBuildContext(to: string): number {
  let copied = 0;
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      const rel = relative(ROOT, path);
      if (['node_modules', '.git', 'dist', 'coverage'].includes(rel)) continue;
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile() && inBuildContext(rel)) {
        cpSync(path, join(to, rel));
        copied++;
      }
    }
  };
  walk(ROOT);
  return copied;
}

describe('deploy - the image layout', () => {
  it('the build context builds with npm run build, and the runtime layout runs the built CLI', () => {
    const context = join(work, 'context');
    expect(copyBuildContext(context)).toBeGreaterThan(50);
    expect(existsSync(join(context, 'test'))).toBe(false);
    symlinkSync(join(ROOT, 'node_modules'), join(context, 'node_modules'), 'dir');
    const built = spawnSync('npm', ['run', 'build'], { cwd: context, encoding: 'utf8', timeout: 240_000 });
    expect(built.status, built.stderr).toBe(0);
    expect(existsSync(join(context, 'dist/build.json'))).toBe(true);

    const runtime = join(work, 'runtime');
    for (const entry of smokeInstalled()) cpSync(join(context, entry), join(runtime, entry), { recursive: true });
    expect(existsSync(join(runtime, 'src'))).toBe(false);
    symlinkSync(join(ROOT, 'node_modules'), join(runtime, 'node_modules'), 'dir');
    const env = { PATH: process.env.PATH ?? '', NODE_ENV: 'production' };
    const run = spawnSync(process.execPath, ['bin/bflow.js', 'validate', 'examples/purchase-order.json'], {
      cwd: runtime,
      env,
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/valid/);
    expect(existsSync(join(runtime, 'dist/cli/main.js'))).toBe(true);
  }, 300_000);
});
