import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { AppError } from '@stampede/core/errors';
import { Hono } from 'hono';
import type { AppEnv } from '../http/app-env.js';
import { setResponseHeaders } from '../http/node-headers.js';

/**
 * swagger-ui served from the installed swagger-ui-dist (pinned in package.json), never
 * from a CDN: /docs renders on a machine without internet, and the UI is the version
 * the lockfile names. The asset paths carry that version, so browsers may keep them.
 */
const DIST = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
const VERSION = (JSON.parse(readFileSync(join(DIST, 'package.json'), 'utf8')) as { version: string }).version;
const ASSETS_PATH = `/docs/assets/${VERSION}`;

/** The files the page uses, and nothing else of the package. */
const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

/** Started from a file of ours, not inline, so the page works under a script-src 'self' policy. */
const INIT_JS = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true });\n`;

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Stampede API</title>
  <link rel="icon" type="image/png" href="${ASSETS_PATH}/favicon-32x32.png">
  <link rel="stylesheet" href="${ASSETS_PATH}/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="${ASSETS_PATH}/swagger-ui-bundle.js"></script>
  <script src="${ASSETS_PATH}/init.js"></script>
</body>
</html>
`;

/** Read on first use and kept: the bundle is ~1.5 MB and never changes while the process runs. */
const cache = new Map<string, Buffer>();
function asset(name: string): Buffer {
  let body = cache.get(name);
  if (!body) {
    body = readFileSync(join(DIST, name));
    cache.set(name, body);
  }
  return body;
}

/** GET /docs (the interactive API page) and its assets. */
export function docsRoutes() {
  const app = new Hono<AppEnv>();
  app.get('/docs', (c) => {
    setResponseHeaders(c, { 'Cache-Control': 'no-cache' });
    return c.html(PAGE);
  });
  app.get(`${ASSETS_PATH}/:file`, (c) => {
    const file = c.req.param('file');
    const immutable = { 'Cache-Control': 'public, max-age=31536000, immutable' };
    // Headers on the response itself: a body's own Content-Type (text/plain for a string) would win over any set beforehand.
    if (file === 'init.js')
      return c.body(INIT_JS, 200, { ...immutable, 'Content-Type': 'text/javascript; charset=utf-8' });
    const type = Object.hasOwn(ASSETS, file) ? ASSETS[file] : undefined;
    // Thrown, not c.notFound(): that path is served (for GET), so the app's fallback would say 405.
    if (!type) throw new AppError('not_found', 'The docs page has no such asset.');
    return c.body(new Uint8Array(asset(file)), 200, { ...immutable, 'Content-Type': type });
  });
  return app;
}

export const DOCS_ASSETS_PATH = ASSETS_PATH;
