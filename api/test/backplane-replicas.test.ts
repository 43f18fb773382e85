import { randomUUID } from 'node:crypto';
import { createBackplanePublisher } from '@stampede/core/backplane';
import { redisKeys } from '@stampede/core/redis';
import { createTestEvent, drainMessages, testLogger, testSql, waitFor } from '@stampede/lab/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestReplicas, type TestApp } from './app-fixture.js';

const TOKEN = `admin-${randomUUID()}`;
const sql = testSql();
let replicas: TestApp[];
beforeAll(async () => {
  // A catalog TTL of a minute: only the backplane can explain a change seen sooner.
  replicas = await buildTestReplicas(3, { ADMIN_TOKEN: TOKEN, CATALOG_TTL_MS: 60_000 });
});
afterAll(async () => {
  for (const r of replicas) await r.close();
  await sql.end({ timeout: 1 });
});

const buy = (replica: TestApp, eventId: string, tierId: string) =>
  replica.app.request(`/events/${eventId}/purchases`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
    body: JSON.stringify({ tierId, quantity: 1, buyerId: `b-${randomUUID()}` }),
  });
const admin = (replica: TestApp, path: string) =>
  replica.app.request(path, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });

/** Buys through `replica` until the answer is not a 202; when that was, counted from `since`. */
async function msUntilRefused(replica: TestApp, eventId: string, tierId: string, since: number) {
  for (;;) {
    const res = await buy(replica, eventId, tierId);
    if (res.status !== 202) return { ms: performance.now() - since, res };
    if (performance.now() - since > 5_000) throw new Error('still accepting 5 s later');
  }
}

/** Every other replica refused within 100 ms of `since`, with this code. */
async function expectRefusedWithin100ms(
  others: TestApp[],
  eventId: string,
  tierId: string,
  since: number,
  code: string,
) {
  const seen = await Promise.all(others.map((r) => msUntilRefused(r, eventId, tierId, since)));
  for (const { ms, res } of seen) {
    expect(res.status).toBe(409);
    expect((await res.json()).code).toBe(code);
    expect(ms).toBeLessThan(100);
  }
}

describe('replicas kept in step by the backplane', () => {
  it('when a sale is closed through one replica, then every other replica refuses purchases within 100 ms, and reopened, accepts again', async () => {
    const event = await createTestEvent(sql, [1_000]);
    const tier = event.tiers[0]!.id;
    const [a, b, c] = replicas as [TestApp, TestApp, TestApp];
    // Each replica knows the event as open.
    for (const r of replicas) expect((await buy(r, event.id, tier)).status).toBe(202);

    expect((await admin(a, `/admin/events/${event.id}/sale/close`)).status).toBe(204);
    const closedAt = performance.now();
    await expectRefusedWithin100ms([b, c], event.id, tier, closedAt, 'sale_not_open');
    const queued = (await drainMessages(a.config.AMQP_PREFIX)).length;

    expect((await admin(b, `/admin/events/${event.id}/sale/open`)).status).toBe(204);
    await waitFor(async () => (await buy(c, event.id, tier)).status === 202, { timeoutMs: 100, intervalMs: 5 });
    expect((await buy(a, event.id, tier)).status).toBe(202);
    // Three before the close, at most one per replica racing it, two after the reopening.
    expect(queued).toBeGreaterThanOrEqual(3);
    expect(queued).toBeLessThanOrEqual(5);
  });

  it('when a tier is announced sold out, then every replica answers 409 for it at once, without the gate', async () => {
    const event = await createTestEvent(sql, [10]);
    const tierId = event.tiers[0]!.id;
    const [a, b, c] = replicas as [TestApp, TestApp, TestApp];
    // The gate still offers tickets: only the announcement can make these 409s.
    expect((await buy(b, event.id, tierId)).status).toBe(202);
    await createBackplanePublisher(a.redis, a.config, testLogger()).publish({
      kind: 'sold_out',
      tierId,
      eventId: event.id,
    });
    const announcedAt = performance.now();
    await expectRefusedWithin100ms([b, c], event.id, tierId, announcedAt, 'sold_out');
    // The gate was never asked to refuse: at most one purchase per replica raced the message.
    const stock = Number(await a.redis.get(redisKeys(a.config.REDIS_KEY_PREFIX).stock(event.id, tierId)));
    expect(stock).toBeGreaterThanOrEqual(7);
    await drainMessages(a.config.AMQP_PREFIX);
  });
});
