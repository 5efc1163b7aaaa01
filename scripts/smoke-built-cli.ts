/**
 * Smoke test of the built CLI (`npm run build`, then `npm run smoke`; .ci/run runs both).
 *
 * It installs the build as production does, in a temporary directory: package.json, the lockfile, bin/,
 * dist/ and examples/ (the embedded demo seed reads them), then `npm ci --omit=dev`. That copy has no src/
 * and no tsx, so the CLI can only run from dist/, and a run-time dependency declared as a dev dependency
 * fails here. Then, from that copy:
 *   - `bflow validate examples/purchase-order.json` exits 0;
 *   - `bflow migrate` creates and migrates a throw-away database on the test MariaDB/MySQL (the one the tests
 *     use: BFLOW_TEST_MYSQL_URL, else 127.0.0.1:3306, else a private mariadbd), again reports it up to date,
 *     and the database is dropped;
 *   - `bflow all` in embedded mode on a free port answers GET /ready (and /openapi.json, /docs, the console page
 *     /console/ with its entry module and the dagre layout library, both copied into or resolved from dist/) with 200,
 *     and exits 0 on SIGTERM.
 * The children get only PATH and the BFLOW_* variables named here, as the e2e stacks do.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';
import { withDatabase } from '../src/store/mysql/mysql-url.ts';
import { testServerUrl } from '../test/harness/mysql.ts';
import { freePort } from '../test/harness/ports.ts';
import { waitFor } from '../test/harness/wait.ts';
import { TEST_MASTER_KEYS } from '../test/harness/master-keys.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** What a production install holds besides node_modules. */
const INSTALLED = ['package.json', 'package-lock.json', 'bin', 'dist', 'examples'];
const STEP_DEADLINE_MS = 60_000;

class SmokeFailure extends Error {}

function check(ok: unknown, message: string): asserts ok {
  if (!ok) throw new SmokeFailure(message);
}

async function step<T>(name: string, run: () => Promise<T>): Promise<T> {
  const started = Date.now();
  const result = await run();
  console.log(`smoke: ok   ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  return result;
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `node bin/bflow.js …args` in `dir` with only PATH and `env`; kills it after the step deadline. */
function bflow(dir: string, args: string[], env: Record<string, string> = {}): Promise<Exit> {
  return collect(spawnBflow(dir, args, env), STEP_DEADLINE_MS);
}

function spawnBflow(dir: string, args: string[], env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['bin/bflow.js', ...args], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function collect(child: ChildProcess, deadlineMs: number): Promise<Exit> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), deadlineMs);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

const show = (exit: Exit): string =>
  `exit ${exit.code ?? exit.signal}\n--- stdout\n${exit.stdout}--- stderr\n${exit.stderr}`;

function productionInstall(): string {
  check(
    existsSync(join(ROOT, 'dist/build.json')) && existsSync(join(ROOT, 'dist/cli/main.js')),
    'no complete build in dist/: run `npm run build` first',
  );
  const dir = mkdtempSync(join(tmpdir(), 'bflow-smoke-'));
  for (const entry of INSTALLED) cpSync(join(ROOT, entry), join(dir, entry), { recursive: true });
  const npm = spawnSync(
    'npm',
    ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'],
    {
      cwd: dir,
      encoding: 'utf8',
      timeout: 5 * 60_000,
    },
  );
  check(npm.status === 0, `npm ci --omit=dev failed (${npm.error?.message ?? npm.status}):\n${npm.stderr}`);
  check(
    !existsSync(join(dir, 'node_modules/tsx')),
    'tsx was installed by npm ci --omit=dev: it must be a dev dependency',
  );
  check(!existsSync(join(dir, 'src')), 'the production copy has a src/');
  return dir;
}

async function smokeValidate(dir: string): Promise<void> {
  const exit = await bflow(dir, ['validate', 'examples/purchase-order.json']);
  check(exit.code === 0 && /purchase-order\.json: valid/.test(exit.stdout), `bflow validate:\n${show(exit)}`);
}

async function smokeMigrate(dir: string): Promise<void> {
  const server = await testServerUrl();
  const database = `bflow_smoke_${randomBytes(5).toString('hex')}`;
  // migrate never connects to NATS, but the configuration of a cluster (MySQL set) requires its URL.
  const env = {
    BFLOW_MYSQL_URL: withDatabase(server, database),
    BFLOW_MASTER_KEYS: TEST_MASTER_KEYS,
    BFLOW_NATS_URL: 'nats://127.0.0.1:4222',
    BFLOW_LOG_LEVEL: 'warn',
  };
  try {
    const first = await bflow(dir, ['migrate'], env);
    check(first.code === 0 && /applied: 001_/.test(first.stdout), `bflow migrate (fresh database):\n${show(first)}`);
    const again = await bflow(dir, ['migrate'], env);
    check(again.code === 0 && /schema is up to date/.test(again.stdout), `bflow migrate (again):\n${show(again)}`);
  } finally {
    const conn = await mysql.createConnection({ uri: server, connectTimeout: 5_000 });
    try {
      await conn.query(`DROP DATABASE IF EXISTS \`${database}\``);
    } finally {
      await conn.end();
    }
  }
}

async function smokeAll(dir: string): Promise<void> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = spawnBflow(dir, ['all'], { BFLOW_PORT: String(port), BFLOW_LOG_LEVEL: 'warn' });
  const exited = collect(child, 3 * STEP_DEADLINE_MS);
  let done: Exit | undefined;
  void exited.then((exit) => (done = exit));
  const status = async (path: string): Promise<number> =>
    (await fetch(`${base}${path}`, { signal: AbortSignal.timeout(5_000) })).status;
  try {
    await waitFor(
      async () => {
        if (done !== undefined) throw new SmokeFailure(`bflow all exited before it was ready:\n${show(done)}`);
        return (await status('/ready')) === 200;
      },
      { deadlineMs: STEP_DEADLINE_MS, intervalMs: 200, what: `GET ${base}/ready = 200` },
    ).catch((error: unknown) => {
      throw error instanceof Error && error.cause instanceof SmokeFailure ? error.cause : error;
    });
    for (const path of ['/openapi.json', '/docs', '/console/', '/console/assets/main.js', '/console/assets/dagre.js'])
      check((await status(path)) === 200, `GET ${path} did not answer 200`);
  } finally {
    if (done === undefined) child.kill('SIGTERM');
  }
  const exit = await exited;
  check(exit.code === 0, `bflow all did not exit 0 on SIGTERM:\n${show(exit)}`);
  check(/listening on http:\/\//.test(exit.stdout), `bflow all printed no URL:\n${show(exit)}`);
}

let dir: string | undefined;
try {
  dir = await step('production install (npm ci --omit=dev) of package.json, bin/, dist/, examples/', async () =>
    productionInstall(),
  );
  const installed = dir;
  await step('bflow validate examples/purchase-order.json', () => smokeValidate(installed));
  await step('bflow migrate on a throw-away database (twice), dropped after', () => smokeMigrate(installed));
  await step('bflow all (embedded) answers /ready, /openapi.json, /docs, /console/; exits 0 on SIGTERM', () =>
    smokeAll(installed),
  );
  console.log('smoke: the built CLI works');
} catch (error) {
  console.error(`smoke: FAILED ${error instanceof SmokeFailure ? error.message : error}`);
  process.exitCode = 1;
} finally {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
}
