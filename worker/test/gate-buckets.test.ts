import { randomUUID } from 'node:crypto';
import { availableForGate } from '@stampede/core/events';
import { createGate, type Settlement } from '@stampede/core/gate';
import type { PurchaseMessage } from '@stampede/core/purchases';
import { redisKeys } from '@stampede/core/redis';
import {
  createTestEvent,
  gateOnlyEvent,
  purchaseMessage,
  type TestEvent,
  type TestTier,
  testConfig,
  testSql,
} from '@stampede/lab/testing';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { admitOne, deleteTestKeys } from './worker-fixture.js';

// A tier split into K buckets in Postgres keeps K counts in the gate, each in its bucket's
// gate shard: ADMIT takes from the purchase's home bucket, which is topped up from the
// others (in bucket order) when it is short.
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
  return gateOnlyEvent(capacity, K);
}

/** A gated purchase whose key places it in bucket `home` of K. */
function homedAt(event: TestEvent, home: number, overrides: Partial<PurchaseMessage> = {}): PurchaseMessage {
  for (;;) {
    const m = purchaseMessage(event, { gated: true, idempotencyKey: `test-${randomUUID()}`, ...overrides });
    if (m.bucket === home) return m;
  }
}

const admit = (m: PurchaseMessage, g = gate) => admitOne(g, m, K);

/** The gate's count of each bucket, in bucket order (null: unprimed). */
async function buckets(tier: TestTier): Promise<(number | null)[]> {
  const counts = await Promise.all(
    Array.from({ length: K }, (_, b) => redis.get(keys.stock(tier.eventId, tier.id, b))),
  );
  return counts.map((n) => (n === null ? null : Number(n)));
}
const ttls = (tier: TestTier) =>
  Promise.all(Array.from({ length: K }, (_, b) => redis.ttl(keys.stock(tier.eventId, tier.id, b))));
const shardOfKey = (key: string) => /\{(g\d+-\d+)\}/.exec(key)?.[1];
const rejected = (): Settlement => ({
  status: 'rejected',
  reason: 'payment_failed',
  decidedAt: new Date().toISOString(),
});
const confirmed = (): Settlement => ({ status: 'confirmed', reason: null, decidedAt: new Date().toISOString() });

describe('the gate on a tier split into buckets', () => {
  it("when a tier split into 4 is primed from Postgres, then each bucket holds its capacity − sold in a gate shard of its own, and a plain tier of the event shares bucket 0's", async () => {
    const event = await createTestEvent(sql, [10, 5], { buckets: [K, 1] });
    const [split, plain] = [event.tiers[0]!, event.tiers[1]!];
    const available = await availableForGate(sql, [split.id, plain.id]);
    expect(available.get(split.id)).toEqual([3, 3, 2, 2]);
    expect(available.get(plain.id)).toEqual([5]);
    await gate.prime(split, available.get(split.id)!);
    await gate.prime(plain, available.get(plain.id)!);
    expect(await buckets(split)).toEqual([3, 3, 2, 2]);
    expect(await redis.get(keys.stock(event.id, plain.id))).toBe('5');
    const shards = Array.from({ length: K }, (_, b) => shardOfKey(keys.stock(event.id, split.id, b)));
    expect(new Set(shards).size).toBe(K);
    expect(shardOfKey(keys.stock(event.id, plain.id))).toBe(shards[0]);
    for (const ttl of await ttls(split)) expect(ttl).toBeGreaterThan(IDLE_S - 5); // nothing held: the idle lifetime
    await gate.prime(split, [9, 9, 9, 9]); // a live count is never overwritten
    expect(await buckets(split)).toEqual([3, 3, 2, 2]);
    expect((await gate.tierStates([split.id, plain.id])).get(split.id)).toEqual({
      stock: 10,
      held: 0,
      buckets: [3, 3, 2, 2],
    });
    expect((await gate.tierStates([split.id, plain.id])).get(plain.id)).toEqual({ stock: 5, held: 0 });
  });

  it('when the home bucket is short, then the shortfall moves in from the other buckets in bucket order, the purchase keeps its bucket, and sold_out comes only when the whole tier is short', async () => {
    const event = newEvent(5);
    const tier = event.tiers[0]!;
    await gate.prime(tier, [2, 0, 0, 3]);
    const first = homedAt(event, 1, { quantity: 3 });
    expect(await admit(first)).toEqual({ kind: 'admitted', purchaseId: first.purchaseId, bucket: 1 });
    expect(await buckets(tier)).toEqual([0, 0, 0, 2]); // 2 from bucket 0, 1 from bucket 3
    expect((await ttls(tier))[1]).toBe(-1); // held: no lifetime
    expect(await gate.record(first.purchaseId)).toMatchObject({ status: 'queued', bucket: 1 });

    expect(await admit(homedAt(event, 2, { quantity: 3 }))).toEqual({ kind: 'sold_out' });
    expect(await buckets(tier)).toEqual([0, 0, 2, 0]); // what moved stays on offer, in bucket 2
    const last = homedAt(event, 2, { quantity: 2 });
    expect(await admit(last)).toMatchObject({ kind: 'admitted', bucket: 2 });
    expect(await buckets(tier)).toEqual([0, 0, 0, 0]);
    expect(await admit(homedAt(event, 3))).toEqual({ kind: 'sold_out' });
    expect((await gate.tierStates([tier.id])).get(tier.id)).toEqual({ stock: 0, held: 5, buckets: [0, 0, 0, 0] });
  });

  it('when hundreds of buyers admit at once on 4 buckets of uneven stock and demand, then never more than the capacity is admitted, and buyers after them find every ticket left', async () => {
    const event = newEvent(100);
    const tier = event.tiers[0]!;
    await gate.prime(tier, [40, 5, 30, 25]);
    // Most of the crowd is homed in bucket 1, which has 5: it must draw on the others.
    const crowd = Array.from({ length: 240 }, (_, i) =>
      homedAt(event, i % 6 === 0 ? i % K : 1, { quantity: 1 + (i % 3) }),
    );
    const clients = Array.from({ length: 4 }, () => new Redis(config.REDIS_URL));
    try {
      const gates = clients.map((c) => createGate(c, keys, IDLE_S));
      const outcomes = await Promise.all(crowd.map((m, i) => admit(m, gates[i % gates.length])));
      const crowdQty = outcomes.reduce((n, o, i) => n + (o.kind === 'admitted' ? crowd[i]!.quantity : 0), 0);
      expect(crowdQty).toBeLessThanOrEqual(100);
      expect(outcomes.every((o) => o.kind === 'admitted' || o.kind === 'sold_out')).toBe(true);
      outcomes.forEach((o, i) => {
        if (o.kind === 'admitted') expect(o.bucket).toBe(crowd[i]!.bucket);
      });
      // A buyer racing others for moved tickets may be refused while a few are in flight
      // between buckets; none is stranded: one-ticket buyers after the crowd take the rest.
      let laterQty = 0;
      for (let b = 0; laterQty + crowdQty < 100 && b < 400; b++)
        if ((await admit(homedAt(event, b % K))).kind === 'admitted') laterQty += 1;
      expect(crowdQty + laterQty).toBe(100);
      expect(await buckets(tier)).toEqual([0, 0, 0, 0]);
      expect(await admit(homedAt(event, 0))).toEqual({ kind: 'sold_out' });
      const held = await Promise.all(
        Array.from({ length: K }, (_, b) => redis.hvals(keys.held(tier.eventId, tier.id, b))),
      );
      expect(held.flat().reduce((n, v) => n + Number(v.split('|')[0]), 0)).toBe(100);
    } finally {
      for (const c of clients) c.disconnect();
    }
  });

  it('when an admission is undone or its purchase rejected, then its tickets go back to its bucket; a confirmation gives nothing back', async () => {
    const event = newEvent(10);
    const tier = event.tiers[0]!;
    await gate.prime(tier, [5, 5, 0, 0]);
    const [a, b, c] = [homedAt(event, 2, { quantity: 3 }), homedAt(event, 3, { quantity: 2 }), homedAt(event, 1)];
    for (const m of [a, b, c]) expect(await admit(m)).toMatchObject({ kind: 'admitted' });
    expect(await buckets(tier)).toEqual([0, 4, 0, 0]); // a: 3 from 0; b: 2 from 0; c: its own
    expect(await redis.hexists(keys.held(tier.eventId, tier.id, 2), a.purchaseId)).toBe(1); // held in its bucket

    await gate.undo(a);
    expect(await buckets(tier)).toEqual([0, 4, 3, 0]);
    expect(await gate.settleMany([{ message: b, settlement: rejected() }], 600)).toBe(1);
    expect(await buckets(tier)).toEqual([0, 4, 3, 2]);
    expect(await gate.settleMany([{ message: b, settlement: rejected() }], 600)).toBe(0); // a redelivery gives nothing
    expect(await buckets(tier)).toEqual([0, 4, 3, 2]);
    expect(await gate.settleMany([{ message: c, settlement: confirmed() }], 600)).toBe(1);
    expect(await buckets(tier)).toEqual([0, 4, 3, 2]);
    for (const ttl of await ttls(tier)) expect(ttl).toBeGreaterThan(IDLE_S - 5); // nothing held: the lifetime starts
    expect(await redis.get(keys.buyer(event.id, b.buyerId, 3))).toBe('0');
  });

  it('when reconciliation runs, then each bucket is set to what Postgres has left in it minus what is held there, a bucket holding more than Postgres has in it drawing on the others', async () => {
    const event = newEvent(40);
    const tier = event.tiers[0]!;
    await gate.prime(tier, [10, 10, 10, 10]);
    const [a, b] = [homedAt(event, 0, { quantity: 2 }), homedAt(event, 2, { quantity: 5 })];
    expect(await admit(a)).toMatchObject({ kind: 'admitted', bucket: 0 });
    expect(await admit(b)).toMatchObject({ kind: 'admitted', bucket: 2 });
    await redis.set(keys.stock(tier.eventId, tier.id, 3), 1); // drifted

    // Postgres: bucket 2 has only 3 left (sold elsewhere), so b's 5 held there are 2 over:
    // they come from bucket 0, as the spill that decides b will take them.
    const r = await gate.reconcileTier(tier.id, [9, 10, 3, 10]);
    expect(await buckets(tier)).toEqual([5, 10, 0, 10]);
    expect(r).toEqual({ previous: 24, stock: 25, released: 0, changed: true, deferred: 0 });
    expect((await ttls(tier))[2]).toBe(-1); // held: no lifetime
    const again = await gate.reconcileTier(tier.id, [9, 10, 3, 10]);
    expect(again).toEqual({ previous: 25, stock: 25, released: 0, changed: false, deferred: 0 });

    // The stale hold of a is released: its buyer's count and bucket 0's share come back.
    const released = await gate.reconcileTier(tier.id, [9, 10, 3, 10], [a.purchaseId]);
    expect(released).toMatchObject({ stock: 27, released: 1 });
    expect(await buckets(tier)).toEqual([7, 10, 0, 10]);
    expect(await redis.get(keys.buyer(event.id, a.buyerId, 0))).toBe('0');

    // Whole tier short: every bucket 0, never below.
    await gate.reconcileTier(tier.id, [1, 0, 1, 0]);
    expect(await buckets(tier)).toEqual([0, 0, 0, 0]);
  });

  it("when a bucket's holds change between the reconciler's read and its write, then that bucket is left for the next pass", async () => {
    const event = newEvent(8);
    const tier = event.tiers[0]!;
    await gate.prime(tier, [2, 2, 2, 2]);
    const m = homedAt(event, 1);
    expect(await admit(m)).toMatchObject({ kind: 'admitted' });
    // The plan counted bucket 1 with nothing held: the script finds one ticket held and writes nothing.
    // (createGate defined the gate's scripts on this client.)
    const scripts = redis as unknown as { stampedeReconcile: (...args: (string | number)[]) => Promise<number[]> };
    const reply = await scripts.stampedeReconcile(
      keys.stock(tier.eventId, tier.id, 1),
      keys.held(tier.eventId, tier.id, 1),
      IDLE_S,
      2,
      0,
    );
    expect(reply).toEqual([1, 1, 0, -1]);
    expect(await buckets(tier)).toEqual([2, 1, 2, 2]);
  });

  it("when the gate registered a tier with a K Postgres no longer has, then reconciliation records Postgres's K and sets the buckets it has; a bucket never primed waits for the next purchase", async () => {
    const event = newEvent(12);
    const tier = event.tiers[0]!;
    await gate.prime(tier, 12); // registered unsplit
    const r = await gate.reconcileTier(tier.id, [3, 3, 3, 3]);
    expect(r).toMatchObject({ previous: 12, stock: 3, changed: true });
    expect(await buckets(tier)).toEqual([3, null, null, null]);
    expect(await redis.hget(keys.gateTiers(), tier.id)).toBe(`${event.id}|4`);
    expect(await admit(homedAt(event, 2))).toEqual({ kind: 'unprimed' });
    await gate.prime(tier, [3, 3, 3, 3]);
    expect(await buckets(tier)).toEqual([3, 3, 3, 3]);
  });

  it('when a split tier is forgotten or its holds listed, then the bucket counts go with it and each hold names its bucket', async () => {
    const event = newEvent(8);
    const tier = event.tiers[0]!;
    await gate.prime(tier, [2, 2, 2, 2]);
    const m = homedAt(event, 3, { quantity: 3 });
    expect(await admit(m)).toMatchObject({ kind: 'admitted', bucket: 3 });
    const [hold] = await gate.staleHolds([tier.id], -1_000);
    expect(hold).toMatchObject({
      purchaseId: m.purchaseId,
      tierId: tier.id,
      bucket: 3,
      quantity: 3,
      record: { status: 'queued', bucket: 3 },
    });
    expect(hold!.heldAtMs).toBeGreaterThan(Date.now() - 60_000);
    expect(await gate.tiers()).toContain(tier.id);
    await gate.forgetTiers([tier.id]);
    for (let b = 0; b < K; b++)
      expect(await redis.exists(keys.stock(tier.eventId, tier.id, b), keys.held(tier.eventId, tier.id, b))).toBe(0);
    expect(await gate.tiers()).not.toContain(tier.id);
  });
});
