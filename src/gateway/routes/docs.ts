import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { OpenAPIHono } from '@hono/zod-openapi';
import { ApiError } from '../api-error.ts';
import type { GatewayEnv } from '../gateway-env.ts';

/**
 * `GET /docs`: Swagger UI (the `swagger-ui-dist` package) reading `/openapi.json`, every file served by the
 * gateway itself from `/docs/assets/` (no CDN: the machines may be offline). URLs are relative, so the page
 * also works behind a proxy that mounts the gateway under a path prefix.
 */

const require = createRequire(import.meta.url);
const SWAGGER_UI_DIR = dirname(require.resolve('swagger-ui-dist/package.json'));
/** Busts browser caches when the package is upgraded. */
const SWAGGER_UI_VERSION = (require('swagger-ui-dist/package.json') as { version: string }).version;

/**
 * Only the page's own files, from 'self': scripts, the stylesheet and images, plus the `data:` SVG icons
 * Swagger UI's stylesheet embeds. No inline script or style element (Swagger UI sets styles through the DOM,
 * which style-src does not restrict). Requests the page sends (the document, "Try it out") go to the gateway only.
 */
export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const asset = (file: string) => `docs/assets/${file}?v=${SWAGGER_UI_VERSION}`;

export const DOCS_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>bflow API</title>
<link rel="stylesheet" href="${asset('swagger-ui.css')}">
<link rel="icon" type="image/png" href="${asset('favicon-32x32.png')}">
</head>
<body>
<div id="swagger-ui"></div>
<script src="${asset('swagger-ui-bundle.js')}"></script>
<script src="${asset('docs-init.js')}"></script>
</body>
</html>
`;

/** Starts Swagger UI on the page: a script file, since the CSP allows no inline script. */
const DOCS_INIT_JS = `window.ui = SwaggerUIBundle({
  url: 'openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: 'BaseLayout',
});
`;

interface Asset {
  type: string;
  bytes: () => Promise<Uint8Array<ArrayBuffer>>;
}

const JS = 'text/javascript; charset=utf-8';
const fromPackage = (name: string, type: string): Asset => ({
  type,
  bytes: async () => new Uint8Array(await readFile(join(SWAGGER_UI_DIR, name))),
});

/** The files `/docs/assets/` serves, by name, with their content type: nothing else of the package is reachable. */
const ASSETS: Readonly<Record<string, Asset>> = {
  'swagger-ui.css': fromPackage('swagger-ui.css', 'text/css; charset=utf-8'),
  'swagger-ui-bundle.js': fromPackage('swagger-ui-bundle.js', JS),
  'favicon-32x32.png': fromPackage('favicon-32x32.png', 'image/png'),
  'docs-init.js': { type: JS, bytes: async () => new TextEncoder().encode(DOCS_INIT_JS) },
};

/** `GET /docs` and `GET /docs/assets/{file}`; each asset is read from the package once, on its first request. */
export function registerDocsRoutes(app: OpenAPIHono<GatewayEnv>): void {
  const loaded = new Map<string, Promise<Uint8Array<ArrayBuffer>>>();
  app.get('/docs', (c) => c.html(DOCS_HTML, 200, { 'Content-Security-Policy': DOCS_CSP }));
  app.get('/docs/assets/:file', async (c) => {
    const file = c.req.param('file');
    const asset = Object.hasOwn(ASSETS, file) ? ASSETS[file] : undefined;
    if (asset === undefined) throw new ApiError(404, 'not_found', `no docs asset ${file}`);
    let body = loaded.get(file);
    if (body === undefined) {
      body = asset.bytes();
      loaded.set(file, body);
      body.catch(() => loaded.delete(file));
    }
    return c.body(await body, 200, { 'Content-Type': asset.type, 'Cache-Control': 'public, max-age=86400' });
  });
}
