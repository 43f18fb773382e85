import { randomUUID } from 'node:crypto';
import { redisKeys } from '@stampede/core/redis';
import {
  createTestEvent,
  drainMessages,
  queueDepths,
  startPrivateRedis,
  startTcpProxy,
  type TestEvent,
  testSql,
  waitFor,
} from '@stampede/lab/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appReady, buildTestApp, type TestApp } from './app-fixture.js';

const sql = testSql();
afterAll(() => sql.end({ timeout: 1 }));

function buy(t: TestApp, event: TestEvent, body: Record<string, unknown>, key: string | null = randomUUID()) {
  return t.app.request(`/events/${event.id}/purchases`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key === null ? {} : { 'idempotency-key': key }) },
    body: JSON.stringify(body),
  });
}

async function ready(t: TestApp) {
  await appReady(t);
}

describe('purchase admission', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = buildTestApp();
    await ready(t);
  });
  afterAll(() => t.close());

  it('when a valid purchase is sent, then it is answered 202 with a Location and one persistent message is queued', async () => {
    const event = await createTestEvent(sql, [10]);
    const res = await buy(t, event, { tierId: event.tiers[0]!.id, quantity: 2, buyerId: 'alice' });
    expect(res.status).toBe(202);
    const body = await res.json();
    expect(body.status).toBe('queued');
    expect(res.headers.get('location')).toBe(`/purchases/${body.purchaseId}`);

    const messages = await drainMessages(t.config.AMQP_PREFIX);
    expect(messages).toHaveLength(1);
    expect(messages[0]!.properties.deliveryMode).toBe(2);
    expect(messages[0]!.body).toMatchObject({
      purchaseId: body.purchaseId,
      tierId: event.tiers[0]!.id,
      quantity: 2,
      buyerId: 'alice',
      gated: true,
    });

    const status = await t.app.request(`/purchases/${body.purchaseId}`);
    expect(status.status).toBe(200);
    expect((await status.json()).status).toBe('queued');
  });

  it('when the same Idempotency-Key is sent 30 times at once, then every answer names one purchase and the gate took the tickets once', async () => {
    const event = await createTestEvent(sql, [10]);
    const key = randomUUID();
    const answers = await Promise.all(
      Array.from({ length: 30 }, () => buy(t, event, { tierId: event.tiers[0]!.id, quantity: 3, buyerId: 'bob' }, key)),
    );
    expect(answers.every((r) => r.status === 202)).toBe(true);
    const ids = new Set(await Promise.all(answers.map(async (r) => (await r.json()).purchaseId)));
    expect(ids.size).toBe(1);
    expect(Number(await t.redis.get(redisKeys(t.config.REDIS_KEY_PREFIX).stock(event.id, event.tiers[0]!.id)))).toBe(7);
    const messages = await drainMessages(t.config.AMQP_PREFIX);
    expect(messages.length).toBe(1);
  });

  it('when a tier is sold out, then the next purchase gets a 409 sold_out and nothing is published', async () => {
    const event = await createTestEvent(sql, [3]);
    const tierId = event.tiers[0]!.id;
    for (const buyerId of ['a', 'b', 'c'])
      expect((await buy(t, event, { tierId, quantity: 1, buyerId })).status).toBe(202);
    for (let i = 0; i < 5; i += 1) {
      const res = await buy(t, event, { tierId, quantity: 1, buyerId: `late-${i}` });
      expect(res.status).toBe(409);
      expect((await res.json()).code).toBe('sold_out');
    }
    expect((await drainMessages(t.config.AMQP_PREFIX)).length).toBe(3);
  });

  it('when a buyer goes over the per-event limit, then 409 limit_exceeded and the stock is unchanged', async () => {
    const event = await createTestEvent(sql, [100]);
    const tierId = event.tiers[0]!.id;
    expect((await buy(t, event, { tierId, quantity: 4, buyerId: 'carol' })).status).toBe(202);
    const over = await buy(t, event, { tierId, quantity: 3, buyerId: 'carol' });
    expect(over.status).toBe(409);
    expect((await over.json()).code).toBe('limit_exceeded');
    expect(Number(await t.redis.get(redisKeys(t.config.REDIS_KEY_PREFIX).stock(event.id, tierId)))).toBe(96);
    await drainMessages(t.config.AMQP_PREFIX);
  });

  it('when a key is reused with a different body, then 422 idempotency_key_reused and nothing is queued', async () => {
    const event = await createTestEvent(sql, [10]);
    const key = randomUUID();
    expect((await buy(t, event, { tierId: event.tiers[0]!.id, quantity: 1, buyerId: 'dan' }, key)).status).toBe(202);
    await drainMessages(t.config.AMQP_PREFIX);
    const reused = await buy(t, event, { tierId: event.tiers[0]!.id, quantity: 2, buyerId: 'dan' }, key);
    expect(reused.status).toBe(422);
    expect((await reused.json()).code).toBe('idempotency_key_reused');
    expect((await queueDepths(t.config.AMQP_PREFIX)).queue).toBe(0);
  });

  it('when the tier belongs to another event or the sale has not opened, then a 4xx problem and nothing is queued', async () => {
    const event = await createTestEvent(sql, [10]);
    const other = await createTestEvent(sql, [10]);
    const wrongTier = await buy(t, event, { tierId: other.tiers[0]!.id, quantity: 1, buyerId: 'erin' });
    expect(wrongTier.status).toBe(404);
    expect((await wrongTier.json()).code).toBe('tier_not_found');
    const later = await createTestEvent(sql, [10], { saleOpensAt: new Date(Date.now() + 3_600_000) });
    const early = await buy(t, later, { tierId: later.tiers[0]!.id, quantity: 1, buyerId: 'erin' });
    expect(early.status).toBe(409);
    expect((await early.json()).code).toBe('sale_not_open');
    expect((await queueDepths(t.config.AMQP_PREFIX)).queue).toBe(0);
  });
});

describe('purchase admission when the broker or Redis fail', () => {
  it('when the broker is unreachable, then 503 with Retry-After and the gate is left as it was', async () => {
    const proxy = await startTcpProxy(5672);
    const t = buildTestApp({ AMQP_URL: `amqp://guest:guest@127.0.0.1:${proxy.port}`, PUBLISH_CONFIRM_TIMEOUT_MS: 500 });
    try {
      await ready(t);
      const event = await createTestEvent(sql, [10]);
      const tierId = event.tiers[0]!.id;
      const keys = redisKeys(t.config.REDIS_KEY_PREFIX);
      expect((await buy(t, event, { tierId, quantity: 1, buyerId: 'x' })).status).toBe(202);

      // Slow enough that no confirm arrives in time: the admission must be undone.
      proxy.setDelay(2_000);
      const key = randomUUID();
      const slow = await buy(t, event, { tierId, quantity: 2, buyerId: 'y' }, key);
      expect(slow.status).toBe(503);
      expect(slow.headers.get('retry-after')).toBeTruthy();
      expect((await slow.json()).code).toBe('broker_unavailable');
      expect(Number(await t.redis.get(keys.stock(event.id, tierId)))).toBe(9);
      expect(await t.redis.exists(keys.idempotency(key, event.id))).toBe(0);
      expect(await t.redis.hlen(keys.held(event.id, tierId))).toBe(1);

      await proxy.cut();
      await waitFor(() => !t.publisher.isConnected(), { what: 'disconnect noticed' });
      const down = await buy(t, event, { tierId, quantity: 1, buyerId: 'z' });
      expect(down.status).toBe(503);
      expect(Number(await t.redis.get(keys.stock(event.id, tierId)))).toBe(9);
    } finally {
      await proxy.close();
      await t.close();
    }
  });

  it('when Redis is down, then purchases are still accepted, queued ungated', async () => {
    const redis = await startPrivateRedis();
    const t = buildTestApp({ REDIS_URL: redis.url });
    try {
      await ready(t);
      await redis.kill();
      await waitFor(() => t.redis.status !== 'ready', { what: 'redis down noticed' });
      const event = await createTestEvent(sql, [5]);
      const res = await buy(t, event, { tierId: event.tiers[0]!.id, quantity: 1, buyerId: 'fay' });
      expect(res.status).toBe(202);
      const messages = await drainMessages(t.config.AMQP_PREFIX);
      expect(messages).toHaveLength(1);
      expect(messages[0]!.body.gated).toBe(false);
    } finally {
      await t.close();
      await redis.close();
    }
  });
});
