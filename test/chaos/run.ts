/**
 * `npm run chaos [-- scenario...]`: runs the chaos scenarios (default: the
 * long ones) one after another, each on a fresh private stack, prints one
 * summary line per scenario and writes test/chaos/results/<scenario>-*.json.
 * `all` runs the short ones too; `soak` runs bench/soak.ts when it exists.
 * Exits 1 when any scenario broke an invariant.
 */
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runScenario } from './run-scenario.ts';
import { SCENARIOS, scenario } from './scenarios.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SOAK = 'bench/soak.ts';

function usage(): string {
  const list = SCENARIOS.map((s) => `  ${s.name.padEnd(16)} ${s.length.padEnd(5)} ${s.summary}`).join('\n');
  return `usage: npm run chaos [-- all | <scenario>... | soak [--minutes N ...]]\n(no argument: every long scenario)\n${list}\n  ${'soak'.padEnd(16)} long  10 minutes of mixed load (${SOAK})`;
}

async function main(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    console.log(usage());
    return 0;
  }
  // `soak [bench/soak.ts options]`: the options go to the soak (e.g. `-- soak --minutes 2`).
  if (args[0] === 'soak') return runSoak(args.slice(1));
  const names =
    args.length === 0
      ? SCENARIOS.filter((s) => s.length === 'long').map((s) => s.name)
      : args.includes('all')
        ? SCENARIOS.map((s) => s.name)
        : args;
  const lines: string[] = [];
  let failed = 0;
  for (const name of names) {
    if (name === 'soak') {
      if ((await runSoak([])) !== 0) failed++;
      continue;
    }
    const outcome = await runScenario(scenario(name));
    lines.push(outcome.line);
    if (outcome.violations.length > 0) {
      failed++;
      console.error(`${name}: FAILED\n  ${outcome.violations.join('\n  ')}`);
    }
    console.log(`  → ${outcome.resultFile}`);
  }
  console.log(`\n${lines.join('\n')}`);
  return failed > 0 ? 1 : 0;
}

/** Runs bench/soak.ts (the bench helper's 10-minute mixed load) with `args`; its exit code. */
async function runSoak(args: string[]): Promise<number> {
  if (!existsSync(`${ROOT}${SOAK}`)) {
    console.error(`soak: ${SOAK} does not exist`);
    return 1;
  }
  return spawnSync(process.execPath, ['--import', 'tsx', SOAK, ...args], { cwd: ROOT, stdio: 'inherit' }).status ?? 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(2);
  },
);
