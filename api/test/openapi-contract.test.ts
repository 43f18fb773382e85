import { randomUUID } from 'node:crypto';
import { createTestEvent, type TestEvent, testSql } from '@stampede/lab/testing';
import { Ajv2020 } from 'ajv/dist/2020.js';
import formats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOCS_ASSETS_PATH } from '../src/routes/docs-routes.js';
import { appReady, buildTestApp, type TestApp } from './app-fixture.js';

const TOKEN = 'contract-test-token';
const sql = testSql();
let t: TestApp;
let doc: {
  paths: Record<
    string,
    Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }> }>
  >;
  components: object;
};
let event: TestEvent;

beforeAll(async () => {
  t = buildTestApp({ ADMIN_TOKEN: TOKEN });
  event = await createTestEvent(sql, [10]);
  await appReady(t);
  doc = await (await t.app.request('/openapi.json')).json();
});
afterAll(async () => {
  await t.close();
  await sql.end({ timeout: 1 });
});

// The API's own documentation: the document, and the page that renders it with its assets.
const UNDOCUMENTED = new Set(['/openapi.json', '/docs', `${DOCS_ASSETS_PATH}/:file`]);
const toOpenApiPath = (p: string) => p.replace(/:(\w+)/g, '{$1}');

describe('the OpenAPI document', () => {
  it('when the app is built, then every route it serves is in /openapi.json', () => {
    const served = t.app.routes
      .filter((r) => r.method !== 'ALL' && !UNDOCUMENTED.has(r.path) && !r.path.includes('*'))
      .map((r) => `${r.method.toLowerCase()} ${toOpenApiPath(r.path)}`);
    expect(served.length).toBeGreaterThan(8);
    const documented = new Set(
      Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${p}`)),
    );
    expect(served.filter((r) => !documented.has(r))).toEqual([]);
  });

  it('when each route is called into each of its outcomes, then the status is documented and the body matches its schema', async () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    // ajv-formats is CommonJS: its default export arrives as the module object under NodeNext.
    const addFormats =
      (formats as unknown as { default: (a: Ajv2020) => void }).default ?? (formats as unknown as (a: Ajv2020) => void);
    addFormats(ajv);
    const admin = { authorization: `Bearer ${TOKEN}` };
    const post = (_path: string, body: unknown, headers: Record<string, string> = {}) => ({
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID(), ...headers },
      body: JSON.stringify(body),
    });
    const tierId = event.tiers[0]!.id;
    const first = await t.app.request(
      `/events/${event.id}/purchases`,
      post('', { tierId, quantity: 2, buyerId: 'c1' }),
    );
    const { purchaseId } = await first.clone().json();

    const calls: [string, string, RequestInit?][] = [
      ['/health/live', '/health/live'],
      ['/health/ready', '/health/ready'],
      ['/events', '/events'],
      ['/events/{eventId}', `/events/${event.id}`],
      ['/events/{eventId}', `/events/${randomUUID()}`],
      ['/events/{eventId}', '/events/bad'],
      ['/events/{eventId}/availability', `/events/${event.id}/availability`],
      ['/events/{eventId}/availability', `/events/${randomUUID()}/availability`],
      [
        '/events/{eventId}/purchases',
        `/events/${event.id}/purchases`,
        post('', { tierId, quantity: 1, buyerId: 'c2' }),
      ],
      ['/events/{eventId}/purchases', `/events/${event.id}/purchases`, post('', { tierId, quantity: 'x' })],
      ['/events/{eventId}/purchases', `/events/${event.id}/purchases`, { ...post('', {}), body: '{' }],
      ['/purchases/{purchaseId}', `/purchases/${purchaseId}`],
      ['/purchases/{purchaseId}', `/purchases/${randomUUID()}`],
      [
        '/admin/events',
        '/admin/events',
        post(
          '',
          {
            name: 'Contract',
            startsAt: new Date(Date.now() + 86_400_000).toISOString(),
            tiers: [{ name: 'GA', priceCents: 100, capacity: 5 }],
          },
          admin,
        ),
      ],
      ['/admin/events', '/admin/events', post('', {}, admin)],
      ['/admin/events', '/admin/events', post('', {})],
      ['/admin/events', '/admin/events', post('', {}, { authorization: 'Bearer wrong' })],
      ['/admin/events/{eventId}/stats', `/admin/events/${event.id}/stats`, { headers: admin }],
      [
        '/admin/events/{eventId}/sale/close',
        `/admin/events/${randomUUID()}/sale/close`,
        { method: 'POST', headers: admin },
      ],
    ];
    const seen: string[] = [];
    for (const [template, path, init] of calls) {
      const res = await t.app.request(path, init);
      const method = (init?.method ?? 'GET').toLowerCase();
      const op = doc.paths[template]?.[method];
      expect(op, `${method} ${template} documented`).toBeDefined();
      const response = op!.responses[String(res.status)];
      expect(response, `${method} ${template} documents ${res.status}`).toBeDefined();
      const type = (res.headers.get('content-type') ?? '').split(';')[0]!;
      const schema = response!.content?.[type]?.schema;
      if (res.status === 204) continue;
      expect(schema, `${method} ${template} ${res.status} documents ${type}`).toBeDefined();
      const validate = ajv.compile({ ...schema, components: doc.components });
      const body = await res.json();
      expect(validate(body), `${method} ${template} ${res.status}: ${ajv.errorsText(validate.errors)}`).toBe(true);
      seen.push(`${method} ${template} ${res.status}`);
    }
    expect(seen).toContain('post /events/{eventId}/purchases 202');
    expect(seen).toContain('post /admin/events 401');
  });
});
