import { randomUUID } from 'node:crypto';
import { brokerNames } from '@stampede/core/broker';
import { redisKeys } from '@stampede/core/redis';
import { createTestEvent, queueDepths, type TestEvent, testSql, waitFor, withChannel } from '@stampede/lab/testing';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appReady, buildTestApp, type TestApp } from './app-fixture.js';

const sql = testSql();
afterAll(() => sql.end({ timeout: 1 }));
// An app (and so a queue) of its own per test: each test deletes its queue.
let t: TestApp;
beforeEach(async () => {
  t = buildTestApp();
  await appReady(t);
});
afterEach(() => t.close());

function buy(event: TestEvent, buyerId: string, key = randomUUID()) {
  return t.app.request(`/events/${event.id}/purchases`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify({ tierId: event.tiers[0]!.id, quantity: 1, buyerId }),
  });
}

/** The operator's mistake of the issue: the purchase queue deleted while the worker is stopped (the exchange stays). */
const deleteQueue = () => withChannel((ch) => ch.deleteQueue(brokerNames(t.config.AMQP_PREFIX).queue));

describe('a publish the broker cannot route', () => {
  it('when the purchase queue was deleted, then the purchase is 503 problem+json, the gate is undone, and the queue is declared again', async () => {
    const event = await createTestEvent(sql, [10]);
    const keys = redisKeys(t.config.REDIS_KEY_PREFIX);
    const tierId = event.tiers[0]!.id;
    expect((await buy(event, 'warm-up')).status).toBe(202); // primes the gate: 9 left
    await deleteQueue();

    const key = randomUUID();
    const res = await buy(event, 'ada', key);
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    const problem = await res.json();
    expect(problem).toMatchObject({ status: 503, code: 'broker_unavailable' });
    expect(res.headers.get('retry-after')).toBeTruthy();
    // nothing held: stock, the buyer's count, the key and the status record are as before
    expect(await t.redis.get(keys.stock(event.id, tierId))).toBe('9');
    expect(await t.redis.hlen(keys.held(event.id, tierId))).toBe(1); // the warm-up purchase only
    expect(await t.redis.get(keys.buyer(event.id, 'ada'))).toBe('0');
    expect(await t.redis.exists(keys.idempotency(key, event.id))).toBe(0);

    // the publisher declared the topology again: the next purchase is routed and queued
    await waitFor(() => queueDepths(t.config.AMQP_PREFIX).catch(() => undefined), { what: 'queue declared again' });
    const retry = await buy(event, 'ada', key);
    expect(retry.status).toBe(202);
    expect((await queueDepths(t.config.AMQP_PREFIX)).queue).toBe(1);
  });

  it('when purchases arrive while the queue is gone, then every 202 is in the queue and every other answer is a 503 that took nothing', async () => {
    const event = await createTestEvent(sql, [100]);
    const keys = redisKeys(t.config.REDIS_KEY_PREFIX);
    const tierId = event.tiers[0]!.id;
    expect((await buy(event, 'warm-up')).status).toBe(202);
    await deleteQueue();

    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => buy(event, `buyer-${i}`)));
    const statuses = answers.map((r) => r.status);
    expect(statuses.every((s) => s === 202 || s === 503)).toBe(true);
    expect(statuses).toContain(503);
    const accepted = statuses.filter((s) => s === 202).length;
    await waitFor(() => queueDepths(t.config.AMQP_PREFIX).catch(() => undefined), { what: 'queue declared again' });
    expect((await queueDepths(t.config.AMQP_PREFIX)).queue).toBe(accepted);
    expect(Number(await t.redis.get(keys.stock(event.id, tierId)))).toBe(99 - accepted);
    expect(await t.redis.hlen(keys.held(event.id, tierId))).toBe(1 + accepted);
  });
});
