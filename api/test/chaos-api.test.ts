import { randomUUID } from 'node:crypto';
import { createTestEvent, drainMessages, type TestEvent, testSql } from '@stampede/lab/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appReady, buildTestApp, type TestApp } from './app-fixture.js';

const TOKEN = `chaos-${randomUUID()}`;
const sql = testSql();
let t: TestApp;
let event: TestEvent;

beforeAll(async () => {
  t = buildTestApp({ ADMIN_TOKEN: TOKEN, CHAOS_ENABLED: true, CACHE_TTL_MS: 30 });
  event = await createTestEvent(sql, [50]);
  await appReady(t);
});
afterAll(async () => {
  await t.close();
  await sql.end({ timeout: 1 });
});

const chaos = (body: object) =>
  t.app.request('/admin/chaos', {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
const reset = () =>
  t.app.request('/admin/chaos/reset', { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
const read = () => t.app.request(`/events/${event.id}/availability`);
const buy = () =>
  t.app.request(`/events/${event.id}/purchases`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
    body: JSON.stringify({ tierId: event.tiers[0]!.id, quantity: 1, buyerId: `c-${randomUUID().slice(0, 8)}` }),
  });
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('chaos control of a replica', () => {
  it('when chaos is not enabled, then the chaos routes do not exist; without a token they are refused', async () => {
    const plain = buildTestApp({ ADMIN_TOKEN: TOKEN });
    try {
      expect((await plain.app.request('/admin/chaos', { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(
        404,
      );
    } finally {
      await plain.close();
    }
    expect((await t.app.request('/admin/chaos')).status).toBe(401);
  });

  it('when the database is declared down after a read was cached, then reads are stale and purchases still queue; after reset, fresh again', async () => {
    expect((await read()).status).toBe(200);
    await buy(); // warms the catalog
    expect((await chaos({ dbDown: true })).status).toBe(200);
    await pause(40);
    const stale = await read();
    expect(stale.status).toBe(200);
    expect(stale.headers.get('x-cache')).toBe('stale');
    expect((await buy()).status).toBe(202);
    expect((await (await t.app.request('/health/ready')).json()).dependencies.postgres.status).toBe('down');

    const after = await reset();
    expect(await after.json()).toMatchObject({ dbDown: false, dbLatencyMs: 0, cacheDown: false, brokerDown: false });
    await pause(40);
    expect((await read()).headers.get('x-cache')).toBe('miss');
    await drainMessages(t.config.AMQP_PREFIX);
  });

  it('when the database is slow, then a cached value is answered within the soft timeout, marked stale', async () => {
    await read();
    await chaos({ dbLatencyMs: 1_500 });
    await pause(40);
    const started = performance.now();
    const res = await read();
    expect(res.headers.get('x-cache')).toBe('stale');
    expect(performance.now() - started).toBeLessThan(1_500);
    await reset();
  });

  it('when the cache is declared down, then reads bypass it and purchases are queued ungated', async () => {
    await chaos({ cacheDown: true });
    const own = await createTestEvent(sql, [5]); // the slow read of the test before may still be in flight for the shared event
    expect((await t.app.request(`/events/${own.id}/availability`)).headers.get('x-cache')).toBe('bypass');
    expect((await buy()).status).toBe(202);
    const messages = await drainMessages(t.config.AMQP_PREFIX);
    expect(messages.at(-1)?.body.gated).toBe(false);
    await reset();
  });

  it('when the broker is declared down, then purchases get 503 with Retry-After; after reset, 202', async () => {
    await chaos({ brokerDown: true });
    const refused = await buy();
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBeTruthy();
    await reset();
    expect((await buy()).status).toBe(202);
    await drainMessages(t.config.AMQP_PREFIX);
  });

  it('when a chaos change is malformed, then 400 and the settings are unchanged', async () => {
    const bad = await chaos({ dbLatencyMs: -1, explode: true });
    expect(bad.status).toBe(400);
    const now = await t.app.request('/admin/chaos', { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(await now.json()).toMatchObject({ dbLatencyMs: 0, dbDown: false });
  });
});
