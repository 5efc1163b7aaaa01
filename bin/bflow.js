#!/usr/bin/env node
// The bflow CLI. It runs the compiled JavaScript in dist/ when `npm run build` has completed one (the build
// writes dist/build.json last, so a failed or interrupted build is never run), and the TypeScript sources
// through tsx otherwise: `npx bflow …` works in a plain checkout right after `npm ci`, with no build step.
// BFLOW_FROM_SOURCE=1 always runs the sources: the tests set it so they exercise the working tree, never a
// stale build. tsx is a dev dependency and is imported only on that path, so a production install
// (`npm ci --omit=dev` next to a built dist/) runs without it.
import { existsSync } from 'node:fs';

const BUILD_MARKER = new URL('../dist/build.json', import.meta.url);
const BUILT_MAIN = new URL('../dist/cli/main.js', import.meta.url);

async function sourceMain(why) {
  try {
    const { register } = await import('tsx/esm/api');
    register();
  } catch (error) {
    if (error?.code !== 'ERR_MODULE_NOT_FOUND') throw error;
    process.stderr.write(
      `bflow: ${why}, and tsx (a dev dependency) is not installed to run the TypeScript sources;\n` +
        'run `npm run build` (with the dev dependencies installed), or `npm ci` to run from the sources\n',
    );
    process.exit(70);
  }
  return (await import('../src/cli/main.ts')).main;
}

const forced = process.env.BFLOW_FROM_SOURCE === '1';
const main =
  forced || !existsSync(BUILD_MARKER)
    ? await sourceMain(forced ? 'BFLOW_FROM_SOURCE=1 asks for the sources' : 'there is no complete build in dist/')
    : (await import(BUILT_MAIN.href)).main;
process.exitCode = await main(process.argv.slice(2));
