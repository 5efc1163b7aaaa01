import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { OpenAPIHono } from '@hono/zod-openapi';
import { ApiError } from '../api-error.ts';
import type { GatewayEnv } from '../gateway-env.ts';
import type { ConsoleOptions } from '../gateway-options.ts';

/**
 * The web console (docs/console.md): `GET /console` serves one HTML page, `GET /console/assets/{file}` its
 * plain ES modules and stylesheet (src/gateway/console/, copied beside the compiled module by scripts/build.mjs)
 * and the graph layout library (`@dagrejs/dagre`, from the package). No CDN: the console works offline. The
 * page talks to `/api/v1` with the token the user pasted; these routes need none.
 */

const CONSOLE_DIR = fileURLToPath(new URL('../console/', import.meta.url));
const require = createRequire(import.meta.url);
const DAGRE_DIR = dirname(require.resolve('@dagrejs/dagre/package.json'));

/** Only the page's own files: no inline script or style, requests to the gateway only. */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * The page, its files named relative to it: `assets` is `assets/` for `/console/` and `console/assets/` for
 * `/console`. The modules find the API and the dev sign-in relative to their own URL, so the page works at
 * either address and behind a proxy that mounts the gateway under a path prefix.
 */
export const consoleHtml = (assets: string): string => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>bflow console</title>
<link rel="stylesheet" href="${assets}console.css">
<script type="module" src="${assets}main.js"></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top"><span class="brand">bflow</span><nav id="nav" aria-label="Console"></nav><span id="who"></span></header>
<div id="messages" role="alert" aria-live="assertive"></div>
<main id="main" tabindex="-1"><p>Loading…</p></main>
</body>
</html>
`;

const JS = 'text/javascript; charset=utf-8';
const TYPES: Readonly<Record<string, string>> = { '.js': JS, '.css': 'text/css; charset=utf-8' };
const SAFE_NAME = /^[a-z][a-z0-9-]*\.(js|css)$/;

/** A file of `/console/assets/`: the console's own, by a plain name, or the vendored layout library. */
function assetPath(file: string): { path: string; type: string } | undefined {
  if (file === 'dagre.js') return { path: join(DAGRE_DIR, 'dist', 'dagre.esm.js'), type: JS };
  if (!SAFE_NAME.test(file)) return undefined;
  const type = TYPES[file.slice(file.lastIndexOf('.'))];
  return type === undefined ? undefined : { path: join(CONSOLE_DIR, file), type };
}

/**
 * `GET /console` and `GET /console/` (the page), `GET /console/assets/{file}` and, when `options.devUsers` is set (the embedded mode),
 * `GET /console/dev-users`: the demo users with ready tokens, for the dev sign-in.
 */
export function registerConsoleRoutes(app: OpenAPIHono<GatewayEnv>, options: ConsoleOptions): void {
  const loaded = new Map<string, Promise<Uint8Array<ArrayBuffer>>>();
  const headers = { 'Content-Security-Policy': CONSOLE_CSP, 'Cache-Control': 'no-cache' };
  const atConsole = consoleHtml('console/assets/');
  const inConsole = consoleHtml('assets/');
  app.get('/console', (c) => c.html(atConsole, 200, headers));
  app.get('/console/', (c) => c.html(inConsole, 200, headers));
  app.get('/console/assets/:file', async (c) => {
    const file = c.req.param('file');
    const asset = assetPath(file);
    if (asset === undefined) throw new ApiError(404, 'not_found', `no console asset ${file}`);
    let body = loaded.get(file);
    if (body === undefined) {
      body = readFile(asset.path).then((b) => new Uint8Array(b));
      loaded.set(file, body);
      body.catch(() => loaded.delete(file));
    }
    const bytes = await body.catch(() => {
      throw new ApiError(404, 'not_found', `no console asset ${file}`);
    });
    return c.body(bytes, 200, { 'Content-Type': asset.type, 'Cache-Control': 'no-cache' });
  });
  const devUsers = options.devUsers;
  // Only the embedded mode has the route; elsewhere it is the app's plain 404 and the page offers no list.
  if (devUsers !== undefined)
    app.get('/console/dev-users', async (c) =>
      c.json({ users: await devUsers() }, 200, { 'Cache-Control': 'no-store' }),
    );
}
