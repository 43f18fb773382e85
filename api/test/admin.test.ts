import { randomUUID } from 'node:crypto';
import { drainMessages, testSql } from '@stampede/lab/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appReady, buildTestApp, type TestApp } from './app-fixture.js';

const TOKEN = `admin-${randomUUID()}`;
const sql = testSql();
let t: TestApp;
beforeAll(async () => {
  t = buildTestApp({ ADMIN_TOKEN: TOKEN });
  await appReady(t);
});
afterAll(async () => {
  await t.close();
  await sql.end({ timeout: 1 });
});

const admin = (path: string, init: RequestInit & { token?: string | null } = {}) => {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (init.token !== null) headers.authorization = `Bearer ${init.token ?? TOKEN}`;
  return t.app.request(path, { ...init, headers });
};
const newEvent = {
  name: `Admin test ${randomUUID()}`,
  startsAt: new Date(Date.now() + 86_400_000).toISOString(),
  tiers: [{ name: 'GA', priceCents: 5000, capacity: 20 }],
};

describe('admin endpoints', () => {
  it('when no token or a wrong token is sent, then 401 and 403 problems and nothing is created', async () => {
    const none = await admin('/admin/events', { method: 'POST', body: JSON.stringify(newEvent), token: null });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toContain('Bearer');
    expect((await none.json()).code).toBe('unauthorized');
    const wrong = await admin('/admin/events', { method: 'POST', body: JSON.stringify(newEvent), token: 'not-it' });
    expect(wrong.status).toBe(403);
    expect((await wrong.json()).code).toBe('forbidden');
    expect((await sql`select count(*)::int as n from events where name = ${newEvent.name}`)[0]!.n).toBe(0);
  });

  it('when no ADMIN_TOKEN is configured, then the admin routes do not exist', async () => {
    const open = buildTestApp();
    try {
      const res = await open.app.request('/admin/events', {
        method: 'POST',
        headers: { authorization: 'Bearer x', 'content-type': 'application/json' },
        body: '{}',
      });
      expect(res.status).toBe(404);
    } finally {
      await open.close();
    }
  });

  it('when an event is created, then it can be bought; when its sale is closed, purchases get sale_not_open; reopened, they are accepted again', async () => {
    const created = await admin('/admin/events', { method: 'POST', body: JSON.stringify(newEvent) });
    expect(created.status).toBe(201);
    const event = await created.json();
    expect(event.tiers[0]).toMatchObject({ name: 'GA', capacity: 20, sold: 0 });
    const buy = () =>
      t.app.request(`/events/${event.id}/purchases`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
        body: JSON.stringify({ tierId: event.tiers[0].id, quantity: 1, buyerId: 'adm' }),
      });
    expect((await buy()).status).toBe(202);

    expect((await admin(`/admin/events/${event.id}/sale/close`, { method: 'POST' })).status).toBe(204);
    const closed = await buy();
    expect(closed.status).toBe(409);
    expect((await closed.json()).code).toBe('sale_not_open');

    expect((await admin(`/admin/events/${event.id}/sale/open`, { method: 'POST' })).status).toBe(204);
    expect((await buy()).status).toBe(202);
    expect((await drainMessages(t.config.AMQP_PREFIX)).length).toBe(2);

    const stats = await admin(`/admin/events/${event.id}/stats`);
    expect(stats.status).toBe(200);
    expect((await stats.json()).tiers[0]).toMatchObject({ capacity: 20, sold: 0 });
  });

  it('when the new event is invalid, then a 400 problem and nothing is written', async () => {
    const name = `Bad ${randomUUID()}`;
    for (const body of [
      { ...newEvent, name, tiers: [] },
      { ...newEvent, name, tiers: [{ name: 'A', priceCents: 1, capacity: 0 }] },
      {
        ...newEvent,
        name,
        tiers: [
          { name: 'A', priceCents: 1, capacity: 1 },
          { name: 'A', priceCents: 2, capacity: 1 },
        ],
      },
      { ...newEvent, name: 'bad\u0007name' },
      { ...newEvent, name, startsAt: 'tomorrow' },
    ]) {
      const res = await admin('/admin/events', { method: 'POST', body: JSON.stringify(body) });
      expect(res.status).toBe(400);
      expect((await res.json()).code).toBe('validation_failed');
    }
    expect((await sql`select count(*)::int as n from events where name = ${name}`)[0]!.n).toBe(0);
  });
});
