import { randomUUID } from 'node:crypto';
import { availableForGate } from '@stampede/core/events';
import { createGate, type Settlement } from '@stampede/core/gate';
import { homeBucket, type PurchaseMessage, purchaseIdFor } from '@stampede/core/purchases';
import { redisKeys } from '@stampede/core/redis';
import { createTestEvent, purchaseMessage, type TestEvent, testConfig, testSql } from '@stampede/lab/testing';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { admitOne, deleteTestKeys } from './worker-fixture.js';

// A tier split into K buckets in Postgres keeps K counts in the gate: ADMIT takes from the
// purchase's home bucket, topping it up from the others (in bucket order) when it is short.
const config = testConfig();
const redis = new Redis(config.REDIS_URL);
const keys = redisKeys(config.REDIS_KEY_PREFIX);
const sql = testSql(undefined, 4);
afterAll(async () => {
  await deleteTestKeys(config);
  redis.disconnect();
  await sql.end({ timeout: 1 });
});

const IDLE_S = 600;
const gate = createGate(redis, keys, IDLE_S);
const K = 4;

function newEvent(capacity = 40): TestEvent {
  return { id: randomUUID(), tiers: [{ id: randomUUID(), name: 'T', capacity }] };
}

/** A gated purchase whose id hashes to bucket `home` of K. */
function homedAt(event: TestEvent, home: number, overrides: Partial<PurchaseMessage> = {}): PurchaseMessage {
  for (;;) {
    const idempotencyKey = `test-${randomUUID()}`;
    if (homeBucket(purchaseIdFor(idempotencyKey), K) === home)
      return purchaseMessage(event, { gated: true, idempotencyKey, ...overrides });
  }
}

const admit = (m: PurchaseMessage, g = gate) => admitOne(g, m);

/** The gate's count of each bucket, in bucket order. */
async function buckets(tierId: string): Promise<number[]> {
  const hash = await redis.hgetall(keys.stock(tierId));
  return Array.from({ length: Object.keys(hash).length }, (_, b) => Number(hash[b]));
}
const rejected = (): Settlement => ({
  status: 'rejected',
  reason: 'payment_failed',
  decidedAt: new Date().toISOString(),
});
const confirmed = (): Settlement => ({ status: 'confirmed', reason: null, decidedAt: new Date().toISOString() });

describe('the gate on a tier split into buckets', () => {
  it('when a tier split into 4 is primed from Postgres, then the gate holds the 4 buckets of capacity − sold, and a plain tier keeps its plain count', async () => {
    const event = await createTestEvent(sql, [10, 5], { buckets: [K, 1] });
    const [split, plain] = [event.tiers[0]!.id, event.tiers[1]!.id];
    const available = await availableForGate(sql, [split, plain]);
    expect(available.get(split)).toEqual([3, 3, 2, 2]);
    expect(available.get(plain)).toEqual([5]);
    await gate.prime(split, available.get(split)!);
    await gate.prime(plain, available.get(plain)!);
    expect(await redis.type(keys.stock(split))).toBe('hash');
    expect(await buckets(split)).toEqual([3, 3, 2, 2]);
    expect(await redis.get(keys.stock(plain))).toBe('5');
    expect(await redis.ttl(keys.stock(split))).toBeGreaterThan(IDLE_S - 5); // nothing held: the idle lifetime
    await gate.prime(split, [9, 9, 9, 9]); // a live count is never overwritten
    expect(await buckets(split)).toEqual([3, 3, 2, 2]);
    expect((await gate.tierStates([split, plain])).get(split)).toEqual({ stock: 10, held: 0, buckets: [3, 3, 2, 2] });
    expect((await gate.tierStates([split, plain])).get(plain)).toEqual({ stock: 5, held: 0 });
  });

  it('when the home bucket is short, then the shortfall moves in from the other buckets in bucket order and the gate says which bucket it took from; sold_out only when the whole tier is short', async () => {
    const event = newEvent(5);
    const tierId = event.tiers[0]!.id;
    await gate.prime(tierId, [2, 0, 0, 3]);
    const first = homedAt(event, 1, { quantity: 3 });
    expect(await admit(first)).toEqual({ kind: 'admitted', purchaseId: first.purchaseId, bucket: 1 });
    expect(await buckets(tierId)).toEqual([0, 0, 0, 2]); // 2 from bucket 0, 1 from bucket 3
    expect(await redis.ttl(keys.stock(tierId))).toBe(-1); // held: no lifetime
    expect(await gate.record(first.purchaseId)).toMatchObject({ status: 'queued', bucket: 1 });

    expect(await admit(homedAt(event, 2, { quantity: 3 }))).toEqual({ kind: 'sold_out' });
    expect(await buckets(tierId)).toEqual([0, 0, 0, 2]); // nothing moved
    const last = homedAt(event, 2, { quantity: 2 });
    expect(await admit(last)).toMatchObject({ kind: 'admitted', bucket: 2 });
    expect(await buckets(tierId)).toEqual([0, 0, 0, 0]);
    expect(await admit(homedAt(event, 3))).toEqual({ kind: 'sold_out' });
    expect((await gate.tierStates([tierId])).get(tierId)).toEqual({ stock: 0, held: 5, buckets: [0, 0, 0, 0] });
  });

  it('when hundreds of buyers admit at once on 4 buckets of uneven stock and demand, then admissions succeed until the tier total is gone and exactly the capacity is admitted', async () => {
    const event = newEvent(100);
    const tierId = event.tiers[0]!.id;
    await gate.prime(tierId, [40, 5, 30, 25]);
    // Most of the crowd hashes to bucket 1, which has 5: it must draw on the others.
    const crowd = Array.from({ length: 240 }, (_, i) =>
      homedAt(event, i % 6 === 0 ? i % K : 1, { quantity: 1 + (i % 3) }),
    );
    const clients = Array.from({ length: 4 }, () => new Redis(config.REDIS_URL));
    try {
      const gates = clients.map((c) => createGate(c, keys, IDLE_S));
      const outcomes = await Promise.all(crowd.map((m, i) => admit(m, gates[i % gates.length])));
      const admittedQty = outcomes.reduce((n, o, i) => n + (o.kind === 'admitted' ? crowd[i]!.quantity : 0), 0);
      expect(admittedQty).toBe(100);
      expect(await buckets(tierId)).toEqual([0, 0, 0, 0]);
      // Every refusal is sold_out: nothing left in any bucket, so none was refused while the tier had stock.
      expect(outcomes.every((o) => o.kind === 'admitted' || o.kind === 'sold_out')).toBe(true);
      outcomes.forEach((o, i) => {
        if (o.kind === 'admitted') expect(o.bucket).toBe(homeBucket(crowd[i]!.purchaseId, K));
      });
      const held = await redis.hgetall(keys.held(tierId));
      expect(Object.values(held).reduce((n, v) => n + Number(v.split('|')[0]), 0)).toBe(100);
    } finally {
      for (const c of clients) c.disconnect();
    }
  });

  it('when an admission is undone or its purchase rejected, then its tickets go back to the bucket it took from; a confirmation gives nothing back', async () => {
    const event = newEvent(10);
    const tierId = event.tiers[0]!.id;
    await gate.prime(tierId, [5, 5, 0, 0]);
    const [a, b, c] = [homedAt(event, 2, { quantity: 3 }), homedAt(event, 3, { quantity: 2 }), homedAt(event, 1)];
    for (const m of [a, b, c]) expect(await admit(m)).toMatchObject({ kind: 'admitted' });
    expect(await buckets(tierId)).toEqual([0, 4, 0, 0]); // a: 3 from 0; b: 2 from 0; c: its own
    expect((await redis.hget(keys.held(tierId), a.purchaseId))?.split('|')[2]).toBe('2'); // the hold names its bucket

    await gate.undo(a);
    expect(await buckets(tierId)).toEqual([0, 4, 3, 0]);
    expect(await gate.settleMany([{ message: b, settlement: rejected() }], 600)).toBe(1);
    expect(await buckets(tierId)).toEqual([0, 4, 3, 2]);
    expect(await gate.settleMany([{ message: b, settlement: rejected() }], 600)).toBe(0); // a redelivery gives nothing
    expect(await buckets(tierId)).toEqual([0, 4, 3, 2]);
    expect(await gate.settleMany([{ message: c, settlement: confirmed() }], 600)).toBe(1);
    expect(await buckets(tierId)).toEqual([0, 4, 3, 2]);
    expect(await redis.ttl(keys.stock(tierId))).toBeGreaterThan(IDLE_S - 5); // nothing held: the lifetime starts
    expect(await redis.get(keys.buyer(event.id, b.buyerId))).toBe('0');
  });

  it('when reconciliation runs, then each bucket is set to what Postgres has left in it minus what is held there, a bucket holding more than Postgres has in it drawing on the others', async () => {
    const event = newEvent(40);
    const tierId = event.tiers[0]!.id;
    await gate.prime(tierId, [10, 10, 10, 10]);
    const [a, b] = [homedAt(event, 0, { quantity: 2 }), homedAt(event, 2, { quantity: 5 })];
    expect(await admit(a)).toMatchObject({ kind: 'admitted', bucket: 0 });
    expect(await admit(b)).toMatchObject({ kind: 'admitted', bucket: 2 });
    await redis.hset(keys.stock(tierId), '3', 1); // drifted

    // Postgres: bucket 2 has only 3 left (sold elsewhere), so b's 5 held there are 2 over:
    // they come from bucket 0, as the spill that decides b will take them.
    const r = await gate.reconcileTier(tierId, [9, 10, 3, 10]);
    expect(await buckets(tierId)).toEqual([5, 10, 0, 10]);
    expect(r).toEqual({ previous: 24, stock: 25, released: 0, changed: true });
    expect(await redis.ttl(keys.stock(tierId))).toBe(-1); // held: no lifetime
    const again = await gate.reconcileTier(tierId, [9, 10, 3, 10]);
    expect(again).toEqual({ previous: 25, stock: 25, released: 0, changed: false });

    // The stale hold of a is released: its buyer's count and bucket 0's share come back.
    const released = await gate.reconcileTier(tierId, [9, 10, 3, 10], [a.purchaseId]);
    expect(released).toMatchObject({ stock: 27, released: 1 });
    expect(await buckets(tierId)).toEqual([7, 10, 0, 10]);
    expect(await redis.get(keys.buyer(event.id, a.buyerId))).toBe('0');

    // Whole tier short: every bucket 0, never below.
    await gate.reconcileTier(tierId, [1, 0, 1, 0]);
    expect(await buckets(tierId)).toEqual([0, 0, 0, 0]);
  });

  it('when a plain count meets a tier Postgres now splits (or the other way round), then reconciliation gives the count the shape Postgres has, keeping its idle lifetime', async () => {
    const event = newEvent(12);
    const tierId = event.tiers[0]!.id;
    await gate.prime(tierId, 12); // primed before the split, a plain count
    await redis.expire(keys.stock(tierId), 100);
    const r = await gate.reconcileTier(tierId, [3, 3, 3, 3]);
    expect(r).toEqual({ previous: 12, stock: 12, released: 0, changed: true });
    expect(await buckets(tierId)).toEqual([3, 3, 3, 3]);
    expect(await redis.ttl(keys.stock(tierId))).toBeLessThanOrEqual(100);
    expect(await redis.ttl(keys.stock(tierId))).toBeGreaterThan(90);
    await gate.reconcileTier(tierId, 11);
    expect(await redis.get(keys.stock(tierId))).toBe('11');
    expect(await redis.ttl(keys.stock(tierId))).toBeGreaterThan(90);
  });

  it('when a split tier is forgotten or its holds listed, then the bucket counts go with it and the holds read as before', async () => {
    const event = newEvent(8);
    const tierId = event.tiers[0]!.id;
    await gate.prime(tierId, [2, 2, 2, 2]);
    const m = homedAt(event, 3, { quantity: 3 });
    expect(await admit(m)).toMatchObject({ kind: 'admitted', bucket: 3 });
    const [hold] = await gate.staleHolds([tierId], -1_000);
    expect(hold).toMatchObject({ purchaseId: m.purchaseId, tierId, record: { status: 'queued', bucket: 3 } });
    expect(hold!.heldAtMs).toBeGreaterThan(Date.now() - 60_000);
    expect(await gate.tiers()).toContain(tierId);
    await gate.forgetTiers([tierId]);
    expect(await redis.exists(keys.stock(tierId), keys.held(tierId))).toBe(0);
    expect(await gate.tiers()).not.toContain(tierId);
  });
});
