/**
 * `npm run bench -- <scenario> [options]`: runs one benchmark in its own process.
 * Each prints its figures beside the ceilings measured in the same run and
 * writes JSON under bench/results/.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const scenarios: Record<string, string[]> = {
  engine: ['bench/engine.ts'],
  store: ['bench/store.ts'],
  cluster: ['bench/cluster.ts'],
  memory: ['bench/memory.ts'],
  approve: ['bench/approve.ts'],
  mixed: ['bench/http.ts', 'mixed'],
  batch: ['bench/http.ts', 'batch'],
  scale: ['bench/http.ts', 'scale'],
  inbox: ['bench/inbox.ts'],
  notifications: ['bench/notifications.ts'],
  retention: ['bench/retention.ts'],
  encryption: ['bench/encryption-cost.ts'],
  soak: ['bench/soak.ts'],
  migration: ['bench/migration.ts'],
  tracing: ['bench/tracing.ts'],
};

const [name, ...args] = process.argv.slice(2);
if (name === undefined || !(name in scenarios)) {
  console.error(
    `usage: npm run bench -- <scenario> [--seconds N]\nscenarios: ${Object.keys(scenarios).join(', ')}${name ? `\nunknown scenario: ${name}` : ''}`,
  );
  process.exit(2);
}
const [file, ...fixed] = scenarios[name]!;
if (!existsSync(file!)) {
  console.error(`bench file ${file} is missing`);
  process.exit(2);
}
// Scenarios that start bflow processes measure the compiled build, as production runs it: build it first
// (BFLOW_BENCH_FROM_SOURCE=1 measures the sources through tsx instead, and skips the build).
const SPAWNS_BFLOW = new Set(['approve', 'memory', 'mixed', 'batch', 'scale', 'inbox', 'soak', 'migration', 'tracing']);
if (SPAWNS_BFLOW.has(name) && process.env.BFLOW_BENCH_FROM_SOURCE !== '1') {
  console.error('bench: npm run build (the bflow processes run dist/, as in production)');
  const build = spawnSync('npm', ['run', 'build', '--silent'], { stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
}
const result = spawnSync(process.execPath, ['--import', 'tsx', file!, ...fixed, ...args], { stdio: 'inherit' });
process.exit(result.status ?? 1);
