import { randomUUID } from 'node:crypto';
import { setSaleOpen } from '@stampede/core/events';
import { createTestEvent, type PrivateRedis, startPrivateRedis, testSql, waitFor } from '@stampede/lab/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestReplicas, type TestApp } from './app-fixture.js';

const sql = testSql();
let redis: PrivateRedis;
let replicas: TestApp[];
beforeAll(async () => {
  redis = await startPrivateRedis();
  // TTLs of a minute: within this test only the backplane, or its loss, can change what is in memory.
  replicas = await buildTestReplicas(2, {
    REDIS_URL: redis.url,
    CACHE_TTL_MS: 60_000,
    CACHE_L1_TTL_MS: 60_000,
    CATALOG_TTL_MS: 60_000,
    BACKPLANE_HEARTBEAT_MS: 100,
  });
});
afterAll(async () => {
  for (const r of replicas) await r.close();
  await redis.close();
  await sql.end({ timeout: 1 });
});

const readiness = async (r: TestApp) => (await r.app.request('/health/ready')).json();
const remaining = async (r: TestApp, eventId: string) =>
  (await (await r.app.request(`/events/${eventId}/availability`)).json()).tiers[0].remaining as number;
const buy = (r: TestApp, eventId: string, tierId: string) =>
  r.app.request(`/events/${eventId}/purchases`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
    body: JSON.stringify({ tierId, quantity: 1, buyerId: `b-${randomUUID()}` }),
  });

describe('replicas while the backplane is down', () => {
  it('when redis-server is killed, then readiness says degraded and memory follows its TTLs; when it is back, each replica resubscribes, drops its L1 and reads its catalog again', async () => {
    const event = await createTestEvent(sql, [10]);
    const tierId = event.tiers[0]!.id;
    for (const r of replicas) {
      expect(await remaining(r, event.id)).toBe(10);
      expect((await buy(r, event.id, tierId)).status).toBe(202);
      expect((await readiness(r)).status).toBe('ok');
    }

    await redis.kill();
    for (const r of replicas)
      await waitFor(async () => (await readiness(r)).dependencies.backplane.status === 'down', { what: 'down' });
    expect((await readiness(replicas[0]!)).status).toBe('degraded');

    // Changes nobody can announce: sold in Postgres, and the sale closed.
    await sql`update tiers set sold = 4 where id = ${tierId}`;
    await setSaleOpen(sql, event.id, false);
    for (const r of replicas) expect(await remaining(r, event.id)).toBe(10); // the L1, within its TTL

    await redis.start();
    for (const r of replicas)
      await waitFor(async () => (await readiness(r)).status === 'ok', { timeoutMs: 10_000, what: 'resubscribed' });
    for (const r of replicas) {
      await waitFor(async () => (await remaining(r, event.id)) === 6, { timeoutMs: 1_000, what: 'L1 dropped' });
      await waitFor(async () => (await buy(r, event.id, tierId)).status === 409, {
        timeoutMs: 1_000,
        what: 'catalog read again',
      });
    }
  });
});
