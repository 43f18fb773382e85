import { createGate, type Gate, type Settlement } from '@stampede/core/gate';
import type { PurchaseMessage } from '@stampede/core/purchases';
import { redisKeys } from '@stampede/core/redis';
import { gateOnlyEvent, purchaseMessage, type TestEvent, type TestTier, testConfig } from '@stampede/lab/testing';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { admitThroughGate, deleteTestKeys } from './worker-fixture.js';

// The gate's stock counts (and the tier set) must not pile up in a lab's Redis across
// runs, yet a live sale's count must never expire under it: a count primed again from
// Postgres while tickets are held would offer them twice. The rule: a count has a
// lifetime only while nothing is held.
const config = testConfig();
const redis = new Redis(config.REDIS_URL);
const keys = redisKeys(config.REDIS_KEY_PREFIX);
afterAll(async () => {
  await deleteTestKeys(config);
  redis.disconnect();
});

const IDLE_S = 600;
const gate = createGate(redis, keys, IDLE_S);

function newEvent(capacity = 10): TestEvent {
  return gateOnlyEvent(capacity);
}
const confirmed = (): Settlement => ({ status: 'confirmed', reason: null, decidedAt: new Date().toISOString() });
const rejected = (): Settlement => ({
  status: 'rejected',
  reason: 'payment_failed',
  decidedAt: new Date().toISOString(),
});
const settle = (g: Gate, m: PurchaseMessage, s: Settlement) => g.settleMany([{ message: m, settlement: s }], 600);
const stockTtl = (tier: TestTier) => redis.ttl(keys.stock(tier.eventId, tier.id));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the lifetime of a stock count in the gate', () => {
  it('when a tier is primed, bought, and every purchase decided, then the count has a lifetime only while nothing is held', async () => {
    const event = newEvent();
    const tier = event.tiers[0]!;
    await gate.prime(tier, 10);
    expect(await stockTtl(tier)).toBeGreaterThan(IDLE_S - 5);
    expect(await redis.hexists(keys.gateTiers(), tier.id)).toBe(1);

    const [a, b] = [purchaseMessage(event, { gated: true }), purchaseMessage(event, { gated: true })];
    expect(await admitThroughGate(gate, [a, b])).toEqual(['admitted', 'admitted']);
    expect(await stockTtl(tier)).toBe(-1); // held: no lifetime

    expect(await settle(gate, a, rejected())).toBe(1);
    expect(await stockTtl(tier)).toBe(-1); // b still held
    expect(await redis.get(keys.stock(tier.eventId, tier.id))).toBe('9'); // a's ticket came back

    expect(await settle(gate, b, confirmed())).toBe(1);
    expect(await stockTtl(tier)).toBeGreaterThan(IDLE_S - 5); // nothing held: the lifetime starts
    expect(await redis.get(keys.stock(tier.eventId, tier.id))).toBe('9');
  });

  it('when an admission is undone (publish not confirmed) and nothing else is held, then the lifetime starts again', async () => {
    const event = newEvent();
    const tier = event.tiers[0]!;
    await gate.prime(tier, 10);
    const m = purchaseMessage(event, { gated: true });
    await admitThroughGate(gate, [m]);
    expect(await stockTtl(tier)).toBe(-1);
    await gate.undo(m);
    expect(await redis.get(keys.stock(tier.eventId, tier.id))).toBe('10');
    expect(await stockTtl(tier)).toBeGreaterThan(IDLE_S - 5);
  });

  it('when a purchase stays held longer than the idle lifetime (the worker is stopped), then its count does not expire under it', async () => {
    const shortGate = createGate(redis, keys, 1);
    const event = newEvent();
    const tier = event.tiers[0]!;
    await shortGate.prime(tier, 10);
    const m = purchaseMessage(event, { gated: true });
    await admitThroughGate(shortGate, [m]);
    await sleep(2_200);
    expect(await redis.get(keys.stock(tier.eventId, tier.id))).toBe('9');
    expect(await stockTtl(tier)).toBe(-1);
    // A reconciliation while it is still held (not yet an orphan) keeps it without lifetime.
    const r = await shortGate.reconcileTier(tier.id, 10);
    expect(r).toEqual({ previous: 9, stock: 9, released: 0, changed: false, deferred: 0 });
    expect(await stockTtl(tier)).toBe(-1);
  });

  it('when an idle count expires, then reconciliation does not make it again, the tier leaves the registry, and the next purchase primes it from Postgres', async () => {
    const shortGate = createGate(redis, keys, 1);
    const event = newEvent();
    const tier = event.tiers[0]!;
    await shortGate.prime(tier, 10);
    await sleep(2_200);
    expect(await redis.exists(keys.stock(tier.eventId, tier.id))).toBe(0);

    const r = await shortGate.reconcileTier(tier.id, 7);
    expect(r).toEqual({ previous: null, stock: null, released: 0, changed: false, deferred: 0 });
    expect(await redis.exists(keys.stock(tier.eventId, tier.id))).toBe(0);
    expect(await redis.hexists(keys.gateTiers(), tier.id)).toBe(0);

    const m = purchaseMessage(event, { gated: true });
    expect(await admitThroughGate(shortGate, [m])).toEqual(['unprimed']);
    await shortGate.prime(tier, 7); // what Postgres has left, as the API primes it
    expect(await admitThroughGate(shortGate, [m])).toEqual(['admitted']);
    expect(await redis.get(keys.stock(tier.eventId, tier.id))).toBe('6');
    expect(await redis.hexists(keys.gateTiers(), tier.id)).toBe(1);
  });

  it('when reconciliation passes run on an idle count, then they correct it but do not extend its lifetime; a count without one gets one', async () => {
    const event = newEvent();
    const tier = event.tiers[0]!;
    await gate.prime(tier, 4);
    await redis.expire(keys.stock(tier.eventId, tier.id), 100);
    const r = await gate.reconcileTier(tier.id, 5);
    expect(r).toEqual({ previous: 4, stock: 5, released: 0, changed: true, deferred: 0 });
    expect(await stockTtl(tier)).toBeLessThanOrEqual(100);
    expect(await stockTtl(tier)).toBeGreaterThan(90);

    const legacy = newEvent().tiers[0]!;
    await gate.prime(legacy, 3);
    await redis.persist(keys.stock(legacy.eventId, legacy.id));
    await gate.reconcileTier(legacy.id, 3);
    expect(await stockTtl(legacy)).toBeGreaterThan(IDLE_S - 5);
  });

  it('when a tier is forgotten (its event deleted from Postgres), then its count, its held tickets and its registry entry are gone', async () => {
    const event = newEvent();
    const tier = event.tiers[0]!;
    await gate.prime(tier, 10);
    await admitThroughGate(gate, [purchaseMessage(event, { gated: true })]);
    expect(await redis.hlen(keys.held(tier.eventId, tier.id))).toBe(1);
    await gate.forgetTiers([tier.id]);
    expect(await redis.exists(keys.stock(tier.eventId, tier.id), keys.held(tier.eventId, tier.id))).toBe(0);
    expect(await redis.hexists(keys.gateTiers(), tier.id)).toBe(0);
  });
});
