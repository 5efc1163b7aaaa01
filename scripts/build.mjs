#!/usr/bin/env node
// `npm run build`: compiles src/ into dist/ (tsconfig.build.json) and copies what modules read at run time
// relative to themselves: the SQL migrations (src/store/migrate.ts reads ./migrations/ beside itself) and the
// web console's plain ES modules and stylesheet (src/gateway/console/, never compiled: browsers run them as they are).
// examples/, which the demo seed reads as ../../../examples from src/app/demo/, resolves to the same
// folder from dist/app/demo/, so it is not copied.
//
// dist/ is removed first, so a deleted source leaves no stale module behind, and dist/build.json is written
// last: bin/bflow.js runs dist/ only when that file exists, so a failed or interrupted build is never run.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = `${root}dist`;

/** Run-time assets: [source dir, destination dir, file suffix], relative to the repository root. */
const ASSETS = [
  ['src/store/migrations', 'dist/store/migrations', '.sql'],
  // The web console's browser files (src/gateway/routes/console.ts serves ../console/ beside itself).
  ['src/gateway/console', 'dist/gateway/console', '.js'],
  ['src/gateway/console', 'dist/gateway/console', '.css'],
];

rmSync(dist, { recursive: true, force: true });

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const compiled = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
if (compiled.status !== 0) {
  // noEmitOnError (tsconfig.build.json) leaves nothing half-built behind; say so rather than leave a bare exit code.
  console.error('build: tsc failed; dist/ was not written');
  process.exit(compiled.status ?? 1);
}

let copied = 0;
for (const [from, to, suffix] of ASSETS) {
  mkdirSync(`${root}${to}`, { recursive: true });
  for (const name of readdirSync(`${root}${from}`).filter((n) => n.endsWith(suffix))) {
    cpSync(`${root}${from}/${name}`, `${root}${to}/${name}`);
    copied += 1;
  }
}

writeFileSync(
  `${dist}/build.json`,
  `${JSON.stringify({ builtAt: new Date().toISOString(), node: process.version })}\n`,
);
console.log(`build: dist/ compiled, ${copied} asset file(s) copied`);
