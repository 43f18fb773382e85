import { randomUUID } from 'node:crypto';
import { decidePurchases } from '@stampede/core/purchases';
import { redisKeys, scanKeys } from '@stampede/core/redis';
import { createTestEvent, drainMessages, type TestEvent, testSql, waitFor } from '@stampede/lab/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appReady, buildTestApp, type TestApp } from './app-fixture.js';

const sql = testSql();
let t: TestApp;
beforeAll(async () => {
  // Gate and cache answers are what is asserted: a loaded machine must not turn them into
  // the timeout fallbacks (a purchase queued ungated, a stale read), so they are waited for.
  t = buildTestApp({ BUYER_LIMIT_PER_EVENT: 6, REDIS_COMMAND_TIMEOUT_MS: 10_000, CACHE_SOFT_TIMEOUT_MS: 10_000 });
  await appReady(t);
});
afterAll(async () => {
  await t.close();
  await sql.end({ timeout: 1 });
});

/** The same UUID as a client may spell it: upper case, or mixed. */
const upper = (id: string) => id.toUpperCase();
const mixed = (id: string) => [...id].map((ch, i) => (i % 2 ? ch.toUpperCase() : ch)).join('');

function buy(eventId: string, body: { tierId: string; quantity: number; buyerId: string }, key = randomUUID()) {
  return t.app.request(`/events/${eventId}/purchases`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify(body),
  });
}

/** A UUID however it is spelled; one with no letter (all digits) is no different in upper case. */
const uuidShaped = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

/** Every Redis key of this app that spells an id with upper-case hex. */
async function upperCaseKeys(): Promise<string[]> {
  const found: string[] = [];
  for await (const keys of scanKeys(t.redis, t.config.REDIS_KEY_PREFIX))
    found.push(
      ...keys.filter((k) =>
        (k.slice(t.config.REDIS_KEY_PREFIX.length).match(uuidShaped) ?? []).some((id) => id !== id.toLowerCase()),
      ),
    );
  return found;
}

describe('ids in their canonical form', () => {
  let event: TestEvent;
  beforeAll(async () => {
    event = await createTestEvent(sql, [20]);
  });

  it('when event and tier ids are sent in upper case, then the purchase is accepted, queued and decided under the lower-case ids', async () => {
    const tierId = event.tiers[0]!.id;
    const res = await buy(upper(event.id), { tierId: upper(tierId), quantity: 2, buyerId: 'ada' });
    expect(res.status).toBe(202);
    const { purchaseId } = await res.json();

    const messages = await drainMessages(t.config.AMQP_PREFIX);
    expect(messages.map((m) => [m.body.eventId, m.body.tierId])).toEqual([[event.id, tierId]]);
    const [decision] = await decidePurchases(
      sql,
      messages.map((m) => m.body),
      { buyerLimit: 6 },
    );
    expect(decision).toMatchObject({ kind: 'decided', status: 'confirmed' });
    const [row] = await sql<{ status: string }[]>`select status from purchases where id = ${purchaseId}`;
    expect(row?.status).toBe('confirmed');

    // the status is found whatever the spelling of the purchase id
    const status = await t.app.request(`/purchases/${upper(purchaseId)}`);
    expect(status.status).toBe(200);
    expect((await status.json()).purchaseId).toBe(purchaseId);
    expect(await upperCaseKeys()).toEqual([]);
  });

  it('when a buyer at the limit spells the event id another way, then the gate still counts one buyer and refuses', async () => {
    const other = await createTestEvent(sql, [20]);
    const tierId = other.tiers[0]!.id;
    expect((await buy(other.id, { tierId, quantity: 6, buyerId: 'bob' })).status).toBe(202);
    for (const [eventSpelling, tierSpelling] of [
      [upper(other.id), tierId],
      [mixed(other.id), upper(tierId)],
    ] as const) {
      const res = await buy(eventSpelling, { tierId: tierSpelling, quantity: 1, buyerId: 'bob' });
      expect(res.status).toBe(409);
      expect((await res.json()).code).toBe('limit_exceeded');
    }
    const keys = redisKeys(t.config.REDIS_KEY_PREFIX);
    expect(await t.redis.get(keys.buyer(other.id, 'bob'))).toBe('6');
    expect(await t.redis.get(keys.stock(other.id, tierId))).toBe('14');
    expect((await drainMessages(t.config.AMQP_PREFIX)).length).toBe(1);
  });

  it('when availability is read with an upper-case event id, then it is cached under the lower-case id', async () => {
    const res = await t.app.request(`/events/${upper(event.id)}/availability`);
    expect(res.status).toBe(200);
    expect((await res.json()).eventId).toBe(event.id);
    const keys = redisKeys(t.config.REDIS_KEY_PREFIX);
    // The cache is written after the answer (not awaited by the request): wait for the key.
    await waitFor(async () => (await t.redis.exists(keys.availability(event.id))) === 1, {
      what: 'availability cached under the lower-case id',
    });
    expect(await upperCaseKeys()).toEqual([]);
  });
});
