#!/usr/bin/env node
// The bflow CLI. It runs the compiled JavaScript in dist/ when `npm run build` has completed one (the build
// writes dist/build.json last, so a failed or interrupted build is never run), and the TypeScript sources
// through tsx otherwise: `npx bflow …` works in a plain checkout right after `npm ci`, with no build step.
// BFLOW_FROM_SOURCE=1 always runs the sources: the tests set it so they exercise the working tree, never a
// stale build. tsx is a dev dependency and is imported only on that path, so a production install
// (`npm ci --omit=dev` next to a built dist/) runs without it.
//
// Tracing (docs/operations.md#tracing): a server verb with OTEL_EXPORTER_OTLP_ENDPOINT set starts the
// OpenTelemetry SDK here, before the CLI loads the drivers it instruments, and flushes it after the verb
// returns. Without the variable nothing of OpenTelemetry is loaded.
import { existsSync } from 'node:fs';

const BUILD_MARKER = new URL('../dist/build.json', import.meta.url);
const SERVER_VERBS = new Set(['all', 'gateway', 'node', 'notifier']);

async function registerTsx(why) {
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
}

const forced = process.env.BFLOW_FROM_SOURCE === '1';
const fromSource = forced || !existsSync(BUILD_MARKER);
if (fromSource)
  await registerTsx(forced ? 'BFLOW_FROM_SOURCE=1 asks for the sources' : 'there is no complete build in dist/');
const module = (path) => new URL(fromSource ? `../src/${path}.ts` : `../dist/${path}.js`, import.meta.url).href;

const argv = process.argv.slice(2);
let tracing;
if (SERVER_VERBS.has(argv[0]) && (await import(module('app/tracing'))).tracingEnabled(process.env)) {
  const { startTracing } = await import(module('actors/tracing/sdk'));
  tracing = startTracing(argv[0]);
}
const { main } = await import(module('cli/main'));
process.exitCode = await main(argv);
await tracing?.shutdown().catch((error) => process.stderr.write(`bflow: tracing shutdown: ${error.message}\n`));
