import { randomUUID } from 'node:crypto';
import { createGate } from '@stampede/core/gate';
import type { PurchaseMessage } from '@stampede/core/purchases';
import { redisKeys } from '@stampede/core/redis';
import { createTestEvent, drainMessages, type TestEvent, testSql, waitFor } from '@stampede/lab/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appReady, buildTestApp, type TestApp } from './app-fixture.js';

const sql = testSql();
afterAll(() => sql.end({ timeout: 1 }));

function buy(t: TestApp, event: TestEvent, key: string, buyerId = 'replayer') {
  return t.app.request(`/events/${event.id}/purchases`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify({ tierId: event.tiers[0]!.id, quantity: 1, buyerId }),
  });
}

describe('a purchase retried with its Idempotency-Key (queued mode)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = buildTestApp();
    await appReady(t);
  });
  afterAll(() => t.close());

  it('when it is still queued, then 202 again, marked Idempotent-Replayed, and nothing more is queued', async () => {
    const event = await createTestEvent(sql, [10]);
    const key = randomUUID();
    const first = await buy(t, event, key);
    expect(first.status).toBe(202);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const { purchaseId } = await first.json();

    const retry = await buy(t, event, key);
    expect(retry.status).toBe(202);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.headers.get('location')).toBe(`/purchases/${purchaseId}`);
    expect(await retry.text()).toBe(
      JSON.stringify({ purchaseId, status: 'queued', statusUrl: `/purchases/${purchaseId}` }),
    );
    expect(await drainMessages(t.config.AMQP_PREFIX)).toHaveLength(1);
  });

  it('when the worker has rejected it, then 200 with the final status and reason, marked Idempotent-Replayed', async () => {
    const event = await createTestEvent(sql, [10]);
    const key = randomUUID();
    const first = await buy(t, event, key);
    expect(first.status).toBe(202);
    const [queued] = await drainMessages(t.config.AMQP_PREFIX);
    const message = queued!.body as PurchaseMessage;
    // Settled as the worker settles a committed rejection.
    const gate = createGate(t.redis, redisKeys(t.config.REDIS_KEY_PREFIX));
    const settlement = {
      status: 'rejected' as const,
      reason: 'payment_failed' as const,
      decidedAt: new Date().toISOString(),
    };
    expect(await gate.settleMany([{ message, settlement }], 600)).toBe(1);

    const retry = await buy(t, event, key);
    expect(retry.status).toBe(200);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    const statusUrl = `/purchases/${message.purchaseId}`;
    expect(await retry.text()).toBe(
      JSON.stringify({ purchaseId: message.purchaseId, status: 'rejected', reason: 'payment_failed', statusUrl }),
    );
    expect(await drainMessages(t.config.AMQP_PREFIX)).toHaveLength(0);
  });
});

describe('a purchase retried with its Idempotency-Key (PURCHASE_MODE=sync)', () => {
  it('when it was decided in the first request (201), then the retry is 200 with the same purchase, marked Idempotent-Replayed', async () => {
    const t = buildTestApp({ PURCHASE_MODE: 'sync' });
    try {
      await waitFor(() => t.publisher.isConnected(), { what: 'broker' });
      const event = await createTestEvent(sql, [10]);
      const key = randomUUID();
      const first = await buy(t, event, key, 'sync-replayer');
      expect(first.status).toBe(201);
      expect(first.headers.get('idempotent-replayed')).toBeNull();
      const body = await first.text();
      const { purchaseId } = JSON.parse(body);
      expect(body).toBe(JSON.stringify({ purchaseId, status: 'confirmed', statusUrl: `/purchases/${purchaseId}` }));

      const retry = await buy(t, event, key, 'sync-replayer');
      expect(retry.status).toBe(200);
      expect(retry.headers.get('idempotent-replayed')).toBe('true');
      expect(await retry.text()).toBe(body);
    } finally {
      await t.close();
    }
  });
});
