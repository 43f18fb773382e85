import { randomUUID } from 'node:crypto';
import { createTestEvent, type TestEvent, testSql } from '@stampede/lab/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SECURITY_HEADERS } from '../src/http/request-context.js';
import { type ServedTestApp, serveTestApp } from './app-fixture.js';

// The headers are set on Node's response when served by @hono/node-server and on the
// finished web Response under app.request(): both paths are checked, on answers built
// by c.json(), by the problem handler and by the not-found handler.
const sql = testSql();
let t: ServedTestApp;
let event: TestEvent;

beforeAll(async () => {
  t = await serveTestApp();
  event = await createTestEvent(sql, [10]);
});
afterAll(async () => {
  await t.close();
  await sql.end({ timeout: 1 });
});

type Send = (path: string, init?: RequestInit) => Promise<Response>;
const overHttp: Send = (path, init) => fetch(`${t.base}${path}`, init);
const inProcess: Send = async (path, init) => t.app.request(path, init);

const requests = (): {
  name: string;
  path: string;
  status: number;
  init?: RequestInit;
  own?: Record<string, RegExp>;
}[] => [
  { name: 'a 200 from c.json()', path: '/health/live', status: 200 },
  {
    name: 'a cached read',
    path: `/events/${event.id}/availability`,
    status: 200,
    own: { 'x-cache': /^(hit|miss)$/, 'cache-control': /^no-store$/, 'content-type': /^application\/json$/ },
  },
  { name: 'a 400 problem', path: '/events/not-an-id', status: 400 },
  { name: 'a 404 from notFound', path: '/no/such/route', status: 404 },
  {
    name: 'a 202 purchase',
    path: `/events/${event.id}/purchases`,
    status: 202,
    init: {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
      body: JSON.stringify({ tierId: event.tiers[0]!.id, quantity: 1, buyerId: 'buyer-h' }),
    },
    own: { location: /^\/purchases\/[0-9a-f-]{36}$/ },
  },
];

describe.each([
  { how: 'over real HTTP (@hono/node-server)', send: () => overHttp },
  { how: 'in process (app.request)', send: () => inProcess },
])('response headers, $how', ({ send }) => {
  it('when any route answers, then the response echoes the request id, names the replica, carries every security header and its own headers', async () => {
    for (const r of requests()) {
      const id = `req-${randomUUID()}`;
      const res = await send()(r.path, {
        ...r.init,
        headers: { ...(r.init?.headers as Record<string, string>), 'x-request-id': id },
      });
      expect(res.status, r.name).toBe(r.status);
      expect(res.headers.get('x-request-id'), r.name).toBe(id);
      expect(res.headers.get('x-served-by'), r.name).toBe(t.config.INSTANCE_NAME);
      for (const [name, value] of Object.entries(SECURITY_HEADERS))
        expect(res.headers.get(name), `${r.name}: ${name}`).toBe(value);
      for (const [name, pattern] of Object.entries(r.own ?? {}))
        expect(res.headers.get(name), `${r.name}: ${name}`).toMatch(pattern);
      await res.arrayBuffer();
    }
  });

  it('when the incoming X-Request-Id is missing or not an id, then a new UUID is used and echoed', async () => {
    for (const headers of [{}, { 'x-request-id': 'has spaces; and "quotes"' }] as Record<string, string>[]) {
      const res = await send()('/events/not-an-id', { headers });
      // Headers first: with node-server's Response in this process, reading the body
      // first rebuilds the response from its original init.
      const echoed = res.headers.get('x-request-id');
      const body = (await res.json()) as { requestId: string };
      expect(echoed).toMatch(/^[0-9a-f-]{36}$/);
      expect(body.requestId).toBe(echoed);
    }
  });
});
