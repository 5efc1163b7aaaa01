import { describe, expect, it } from 'vitest';
import { ciCommands, inBuildContext, readDockerfile, smokeInstalled } from './dockerfile.ts';

/**
 * deploy/docker/Dockerfile, read without Docker (no daemon runs on the CI machines, so the image is not
 * built in CI): its build stage runs CI's install and build commands; its runtime stage is the production
 * install the CLI smoke test checks, run by a non-root user under an init process with a HEALTHCHECK; the
 * build context (.dockerignore) sends what it copies. test/deploy/docker-layout.test.ts builds the same
 * layout on disk and runs it.
 */
const [build, runtime] = readDockerfile();
const runs = (stage: typeof build) => stage!.instructions.filter((i) => i.op === 'RUN').map((i) => i.args);
const copies = (stage: typeof build) =>
  stage!.instructions.filter((i) => i.op === 'COPY').map((i) => i.args.split(' ').filter((a) => !a.startsWith('--')));

describe('deploy - Dockerfile', () => {
  it('has two stages on the same Node 20 image: build, then runtime', () => {
    expect(build!.name).toBe('build');
    expect(runtime!.name).toBe('runtime');
    expect(build!.from).toBe(runtime!.from);
  });

  it("the build stage runs CI's install and build: npm ci, npm run build", () => {
    const ci = ciCommands().map((c) => c.split(' ').slice(0, 3).join(' '));
    expect(ci).toEqual(expect.arrayContaining(['npm ci --no-audit', 'npm run build']));
    expect(runs(build).map((r) => r.split(' ').slice(0, 3).join(' '))).toEqual(['npm ci --no-audit', 'npm run build']);
  });

  it('the runtime stage installs what the smoke test installs, production dependencies only, and runs the built CLI', () => {
    const sources = copies(runtime).flatMap((args) => args.slice(0, -1));
    const installed = sources.map((s) => (s.startsWith('/src/') ? s.slice('/src/'.length) : s));
    expect(installed.sort()).toEqual(smokeInstalled().sort());
    expect(runs(runtime).some((r) => r.startsWith('npm ci --omit=dev'))).toBe(true);
    expect(runs(runtime).at(-1)).toBe('node bin/bflow.js validate examples/purchase-order.json');
  });

  it('runs as a non-root user under tini, with a HEALTHCHECK on /health and SIGTERM to stop', () => {
    const op = (name: string) => runtime!.instructions.filter((i) => i.op === name).map((i) => i.args);
    expect(op('USER')).toEqual(['node']);
    expect(op('ENTRYPOINT')[0]).toMatch(
      /^\["\/usr\/bin\/tini", "--", "node", "--max-semi-space-size=64", "bin\/bflow.js"\]$/,
    );
    expect(op('HEALTHCHECK')[0]).toMatch(/CMD .*\/health/);
    expect(op('STOPSIGNAL')).toEqual(['SIGTERM']);
    expect(op('ENV').join(' ')).toMatch(/BFLOW_METRICS_PORT=9464/);
  });

  it('the build context sends what the stages copy, and no tests, build output or dependencies', () => {
    const needed = copies(build)
      .flatMap((args) => args.slice(0, -1))
      .concat(copies(runtime).flatMap((args) => args.slice(0, -1)))
      .filter((s) => !s.startsWith('/src/'));
    for (const path of [...needed, 'src/cli/main.ts', 'scripts/build.mjs', 'examples/purchase-order.json'])
      expect(inBuildContext(path), path).toBe(true);
    for (const path of [
      'node_modules/x/index.js',
      'dist/cli/main.js',
      'test/e2e/stack.ts',
      'src/app/config.test.ts',
      '.git/HEAD',
    ])
      expect(inBuildContext(path), path).toBe(false);
  });
});
