import { randomUUID } from 'node:crypto';
import { createBuckets } from '@stampede/core/events';
import { createGate } from '@stampede/core/gate';
import { decidePurchases, type PurchaseMessage, placePurchase } from '@stampede/core/purchases';
import { redisKeys } from '@stampede/core/redis';
import { createTestEvent, drainMessages, type TestEvent, testSql } from '@stampede/lab/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appReady, buildTestApp, type TestApp } from './app-fixture.js';

const sql = testSql();
afterAll(() => sql.end({ timeout: 1 }));

/** An Idempotency-Key whose purchase of the event is placed in bucket `home` of `k`. */
function keyHomedAt(event: TestEvent, home: number, k: number): string {
  for (;;) {
    const key = randomUUID();
    if (placePurchase(key, event.id, k).bucket === home) return key;
  }
}

/** The gate's count of each of a tier's K buckets. */
async function bucketCounts(t: TestApp, event: TestEvent, k: number): Promise<(string | null)[]> {
  const keys = redisKeys(t.config.REDIS_KEY_PREFIX);
  return Promise.all(Array.from({ length: k }, (_, b) => t.redis.get(keys.stock(event.id, event.tiers[0]!.id, b))));
}

function buy(t: TestApp, event: TestEvent, buyerId: string, key: string, quantity = 1) {
  return t.app.request(`/events/${event.id}/purchases`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify({ tierId: event.tiers[0]!.id, quantity, buyerId }),
  });
}

describe('purchase admission on a tier split into buckets', () => {
  let t: TestApp;
  // A catalog that stays as first read for the whole file: a stale K must be harmless.
  beforeAll(async () => {
    t = buildTestApp({ CATALOG_TTL_MS: 600_000 });
    await appReady(t);
  });
  afterAll(() => t.close());

  it('when every buyer of a tier split into 4 hashes to one bucket, then the gate admits until the whole tier is gone, and each message names the bucket the gate took from', async () => {
    const event = await createTestEvent(sql, [8], { buckets: [4] });
    for (let i = 0; i < 8; i += 1) expect((await buy(t, event, `b${i}`, keyHomedAt(event, 0, 4))).status).toBe(202);
    const late = await buy(t, event, 'late', keyHomedAt(event, 0, 4));
    expect(late.status).toBe(409);
    expect((await late.json()).code).toBe('sold_out');

    expect(await bucketCounts(t, event, 4)).toEqual(['0', '0', '0', '0']);
    const messages = await drainMessages(t.config.AMQP_PREFIX);
    expect(messages).toHaveLength(8);
    expect(messages.every((m) => m.body.gated && m.body.bucket === 0)).toBe(true);
  });

  it('when the catalog still says a tier is not split but Postgres has split it, then the gate primes the buckets from Postgres and tops up the bucket of the catalog from them', async () => {
    const event = await createTestEvent(sql, [8]);
    const tierId = event.tiers[0]!.id;
    expect((await buy(t, event, 'first', randomUUID())).status).toBe(202); // the catalog now holds K = 1
    await drainMessages(t.config.AMQP_PREFIX);
    // The tier is split (as a seed reset does) and the gate forgets its plain count.
    await sql.begin(async (tx) => {
      await tx`update tiers set buckets = 4 where id = ${tierId}`;
      await createBuckets(tx, tierId, 8, 4);
    });
    const keys = redisKeys(t.config.REDIS_KEY_PREFIX);
    await createGate(t.redis, keys).forgetTiers([tierId]);

    // The catalog's K (1) places every purchase in bucket 0, which Postgres gave 2 of the 8
    // left; the gate, primed with Postgres's K, tops it up from the others when it runs short.
    const bought = [randomUUID(), randomUUID(), randomUUID()];
    for (const [i, key] of bought.entries()) expect((await buy(t, event, `second-${i}`, key)).status).toBe(202);
    expect(await bucketCounts(t, event, 4)).toEqual(['0', '1', '2', '2']);
    const messages = await drainMessages(t.config.AMQP_PREFIX);
    expect(messages.map((m) => m.body)).toEqual(
      bought.map((key) =>
        expect.objectContaining({ purchaseId: placePurchase(key, event.id, 1).purchaseId, gated: true, bucket: 0 }),
      ),
    );
  });

  it('when one buyer spreads purchases over the buckets of a split tier past the limit, then the gate (counting per shard) lets them through and Postgres rejects the excess', async () => {
    const event = await createTestEvent(sql, [40], { buckets: [4] });
    // Four purchases of 2 (limit 6), one homed in each bucket: each shard sees 2.
    for (let bucket = 0; bucket < 4; bucket += 1)
      expect((await buy(t, event, 'spreader', keyHomedAt(event, bucket, 4), 2)).status).toBe(202);
    // The same four in one bucket: that shard counts them all and refuses the fourth.
    for (let i = 0; i < 3; i += 1) expect((await buy(t, event, 'stayer', keyHomedAt(event, 1, 4), 2)).status).toBe(202);
    const refused = await buy(t, event, 'stayer', keyHomedAt(event, 1, 4), 2);
    expect(refused.status).toBe(409);
    expect((await refused.json()).code).toBe('limit_exceeded');

    const messages = (await drainMessages(t.config.AMQP_PREFIX)).map((m) => m.body as PurchaseMessage);
    expect(messages).toHaveLength(7);
    const decided = await decidePurchases(sql, messages, { buyerLimit: t.config.BUYER_LIMIT_PER_EVENT });
    const spreader = decided.filter((d) => d.kind === 'decided' && d.message.buyerId === 'spreader');
    expect(spreader.map((d) => (d.kind === 'decided' ? (d.reason ?? d.status) : d.kind)).sort()).toEqual([
      'confirmed',
      'confirmed',
      'confirmed',
      'limit_exceeded',
    ]);
    const [row] = await sql<{ quantity: number }[]>`
      select sum(quantity)::int as quantity from purchases
      where event_id = ${event.id} and buyer_id = 'spreader' and status = 'confirmed'`;
    expect(row!.quantity).toBe(6);
  });
});
