import { createGate } from '@stampede/core/gate';
import { redisKeys } from '@stampede/core/redis';
import { gateOnlyEvent, purchaseMessage, type TestEvent, testConfig } from '@stampede/lab/testing';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { admitThroughGate, deleteTestKeys } from './worker-fixture.js';

const config = testConfig();
const redis = new Redis(config.REDIS_URL);
const keys = redisKeys(config.REDIS_KEY_PREFIX);
const gate = createGate(redis, keys);
afterAll(async () => {
  await deleteTestKeys(config);
  redis.disconnect();
});

describe('settling a committed batch in the gate at once', () => {
  it('when 600 admitted purchases are settled (more than one script call) and then settled again, then rejections give tickets back once, sold_out ones none, and every record is final', async () => {
    const event: TestEvent = gateOnlyEvent(1000);
    const tier = event.tiers[0]!;
    await redis.set(keys.stock(tier.eventId, tier.id), 1000);
    const messages = Array.from({ length: 600 }, () => purchaseMessage(event, { gated: true }));
    expect(await admitThroughGate(gate, messages)).toEqual(messages.map(() => 'admitted'));
    expect(await redis.get(keys.stock(tier.eventId, tier.id))).toBe('400');
    const decidedAt = new Date().toISOString();
    const reasons = ['payment_failed', 'sold_out', null] as const;
    const items = messages.map((message, i) => {
      const reason = reasons[i % 3]!;
      return {
        message,
        settlement: reason
          ? { status: 'rejected' as const, reason, decidedAt }
          : { status: 'confirmed' as const, reason: null, decidedAt },
      };
    });

    expect(await gate.settleMany(items, 600)).toBe(600);
    expect(await redis.hlen(keys.held(tier.eventId, tier.id))).toBe(0);
    // The 200 payment failures came back; the 200 sold_out ones were tickets Postgres did not have.
    expect(await redis.get(keys.stock(tier.eventId, tier.id))).toBe('600');
    expect(await redis.get(keys.buyer(event.id, messages[0]!.buyerId))).toBe('0');
    expect(await redis.get(keys.buyer(event.id, messages[1]!.buyerId))).toBe('0');
    expect(await redis.get(keys.buyer(event.id, messages[2]!.buyerId))).toBe('1');

    expect(await gate.settleMany(items, 600)).toBe(0); // a redelivered batch releases nothing
    expect(await redis.get(keys.stock(tier.eventId, tier.id))).toBe('600');
    const records = await Promise.all(messages.map((m) => gate.record(m.purchaseId)));
    expect(records.filter((r) => r?.status === 'rejected' && r.reason === 'sold_out')).toHaveLength(200);
    expect(records.filter((r) => r?.status === 'rejected' && r.reason === 'payment_failed')).toHaveLength(200);
    expect(records.filter((r) => r?.status === 'confirmed' && r.reason === null)).toHaveLength(200);
    expect(records.every((r) => r?.tierId === tier.id && r.quantity === 1)).toBe(true);
  });

  it('when an ungated purchase (no record) and a gated one whose record expired are settled, then the first gets a whole final record and the second none', async () => {
    const event: TestEvent = gateOnlyEvent(10);
    const ungated = purchaseMessage(event, { gated: false, quantity: 2 });
    const expired = purchaseMessage(event, { gated: true });
    const decided = { status: 'confirmed' as const, reason: null, decidedAt: new Date().toISOString() };

    expect(
      await gate.settleMany(
        [ungated, expired].map((message) => ({ message, settlement: decided })),
        600,
      ),
    ).toBe(0);

    expect(await gate.record(ungated.purchaseId)).toMatchObject({
      status: 'confirmed',
      decidedAt: decided.decidedAt,
      eventId: event.id,
      tierId: event.tiers[0]!.id,
      buyerId: ungated.buyerId,
      quantity: 2,
      idempotencyKey: ungated.idempotencyKey,
      acceptedAt: ungated.acceptedAt,
      gated: false,
    });
    expect(await redis.ttl(keys.purchase(ungated.purchaseId))).toBeGreaterThan(500);
    // No partial record (a status without its fields): the status is read from Postgres instead.
    expect(await redis.exists(keys.purchase(expired.purchaseId))).toBe(0);
  });

  it('when nothing was decided, then nothing is called and nothing is released', async () => {
    expect(await gate.settleMany([], 600)).toBe(0);
  });
});
