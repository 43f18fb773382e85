import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServedTestApp, serveTestApp } from './app-fixture.js';

// Served over HTTP by the replica's own server: headers set there differ from app.request() (a
// Content-Type set before the body was once overridden by the body's text/plain).
let t: ServedTestApp;
const get = (path: string) => fetch(`${t.base}${path}`);
beforeAll(async () => {
  t = await serveTestApp();
});
afterAll(() => t.close());

describe('the /docs page', () => {
  it('when /docs is asked, then it names no other host and every asset it loads is served by the app', async () => {
    const res = await get('/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    // No CDN, no absolute URL of any kind: the page works offline.
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/\/\/(cdn|unpkg|jsdelivr)/);
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(refs).toHaveLength(4);
    const types: Record<string, string> = {};
    for (const ref of refs) {
      expect(ref.startsWith('/docs/assets/')).toBe(true);
      const asset = await get(ref);
      expect(asset.status, ref).toBe(200);
      expect(asset.headers.get('cache-control')).toMatch(/immutable/);
      types[ref.split('/').pop()!] = asset.headers.get('content-type') ?? '';
      const body = await asset.arrayBuffer();
      expect(body.byteLength, ref).toBeGreaterThan(40);
    }
    expect(types).toEqual({
      'favicon-32x32.png': 'image/png',
      'swagger-ui.css': 'text/css; charset=utf-8',
      'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
      'init.js': 'text/javascript; charset=utf-8',
    });
  });

  it('when a file of the package the page does not use is asked, then the answer is a problem+json 404', async () => {
    const html = await (await get('/docs')).text();
    const base = /href="(\/docs\/assets\/[^/]+)\//.exec(html)![1]!;
    for (const name of ['index.html', 'package.json', '..%2Fpackage.json', 'swagger-ui-bundle.js.map']) {
      const res = await get(`${base}/${name}`);
      expect(res.status, name).toBe(404);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
    }
  });
});
