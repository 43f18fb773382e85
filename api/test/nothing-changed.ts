import type { Sql } from '@stampede/core/db';
import { redisKeys, scanKeys } from '@stampede/core/redis';
import { queueDepths, type TestEvent } from '@stampede/lab/testing';
import { expect } from 'vitest';
import type { TestApp } from './app-fixture.js';

/**
 * What a refused request must leave as it found it: nothing queued, no purchase row, and
 * in the gate no idempotency key, buyer count, hold or purchase record, and every stock
 * count either unprimed or still the tier's capacity.
 */
export async function expectNothingChanged(t: TestApp, sql: Sql, events: TestEvent[]): Promise<void> {
  expect((await queueDepths(t.config.AMQP_PREFIX)).queue).toBe(0);
  const ids = events.map((e) => e.id);
  const [row] = await sql<
    { n: number }[]
  >`select count(*)::int as n from purchases where event_id = any(${ids}::uuid[])`;
  expect(row?.n).toBe(0);
  const prefix = t.config.REDIS_KEY_PREFIX;
  const written: string[] = [];
  for await (const keys of scanKeys(t.redis, prefix))
    written.push(...keys.filter((k) => /^(idem|buyer|purchase|held):/.test(k.slice(prefix.length))));
  expect(written).toEqual([]);
  const keys = redisKeys(prefix);
  for (const tier of events.flatMap((e) => e.tiers)) {
    const stock = await t.redis.get(keys.stock(tier.eventId, tier.id));
    expect(stock === null || Number(stock) === tier.capacity).toBe(true);
  }
}
