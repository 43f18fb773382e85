import { randomUUID } from 'node:crypto';
import { createSql, type Sql } from '@stampede/core/db';
import { findEventWithTiers } from '@stampede/core/events';
import { createRedis, redisKeys } from '@stampede/core/redis';
import {
  createTestEvent,
  startTcpProxy,
  type TestEvent,
  testConfig,
  testDatabaseUrlVia,
  testLogger,
  testSql,
  waitFor,
} from '@stampede/lab/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { type CatalogOptions, createCatalog } from '../src/domain/catalog.js';

const sql = testSql();
afterAll(() => sql.end({ timeout: 1 }));

const options = (o: Partial<CatalogOptions> = {}): CatalogOptions => ({
  ttlMs: 5_000,
  maxEvents: 100,
  negativeTtlMs: 2_000,
  maxUnknown: 100,
  ...o,
});

/** findEventWithTiers, counted: every call is one read of Postgres. */
function countedFind() {
  const counter = {
    queries: 0,
    find: (s: Sql, id: string) => {
      counter.queries += 1;
      return findEventWithTiers(s, id);
    },
  };
  return counter;
}

describe('the purchase catalog', () => {
  it('when an event was never read, then held() has nothing and costs no query; once read, held() gives it without one', async () => {
    const event = await createTestEvent(sql, [5]);
    const counted = countedFind();
    const catalog = createCatalog(sql, options({ find: counted.find }));
    expect(catalog.held(event.id)).toBeUndefined();
    expect(counted.queries).toBe(0);
    await catalog.event(event.id);
    expect(catalog.held(event.id)?.tiers.map((t) => t.id)).toEqual(event.tiers.map((t) => t.id));
    expect(counted.queries).toBe(1);
  });

  it('when the database turns slow after an event was loaded, then purchases read the known event without waiting, and the refresh lands later', async () => {
    const event = await createTestEvent(sql, [5]);
    const proxy = await startTcpProxy(5432);
    const slowSql = createSql(testConfig({ DATABASE_URL: testDatabaseUrlVia(proxy.port) }), {
      max: 2,
    });
    try {
      const catalog = createCatalog(slowSql, options({ ttlMs: 20 }));
      expect((await catalog.event(event.id))?.tiers[0]?.capacity).toBe(5);
      await sql`update tiers set capacity = 9 where id = ${event.tiers[0]!.id}`;
      proxy.setDelay(800);
      await new Promise((r) => setTimeout(r, 30));

      const started = performance.now();
      const known = await catalog.event(event.id);
      expect(performance.now() - started).toBeLessThan(400);
      expect(known?.tiers[0]?.capacity).toBe(5);

      // Two queries, each delayed both ways by the proxy: the refresh lands seconds later.
      await waitFor(async () => (await catalog.event(event.id))?.tiers[0]?.capacity === 9, {
        timeoutMs: 15_000,
        what: 'background refresh',
      });
    } finally {
      await slowSql.end({ timeout: 1 });
      await proxy.close();
    }
  });

  it('when an event was never loaded and the database is unreachable, then the read fails instead of inventing one', async () => {
    const event = await createTestEvent(sql, [5]);
    const proxy = await startTcpProxy(5432);
    await proxy.cut();
    const deadSql = createSql(
      testConfig({ DATABASE_URL: testDatabaseUrlVia(proxy.port), DATABASE_CONNECT_TIMEOUT_S: 1 }),
      { max: 1 },
    );
    try {
      await expect(createCatalog(deadSql, options()).event(event.id)).rejects.toBeTruthy();
    } finally {
      await deadSql.end({ timeout: 1 });
      await proxy.close();
    }
  });
});

describe('the purchase catalog shared through Redis', () => {
  it('when one replica loaded an event and another never did, then the other still knows it while Postgres is unreachable', async () => {
    const event = await createTestEvent(sql, [7]);
    const config = testConfig();
    const redis = createRedis(config, testLogger(config));
    const proxy = await startTcpProxy(5432);
    const viaProxy = createSql(
      testConfig({ DATABASE_URL: testDatabaseUrlVia(proxy.port), DATABASE_CONNECT_TIMEOUT_S: 1 }),
      { max: 1 },
    );
    try {
      await waitFor(() => redis.status === 'ready', { what: 'redis' });
      const shared = { redis, keys: redisKeys(config.REDIS_KEY_PREFIX), ttlSeconds: 60 };
      await createCatalog(sql, options({ shared })).event(event.id);
      await waitFor(async () => (await redis.exists(shared.keys.catalog(event.id))) === 1, { what: 'shared copy' });

      await proxy.cut();
      const fresh = createCatalog(viaProxy, options({ shared }));
      const known = await fresh.event(event.id);
      expect(known?.tiers[0]?.capacity).toBe(7);
      expect(known?.saleOpensAt).toBeInstanceOf(Date);

      const alone = createCatalog(viaProxy, options());
      await expect(alone.event(event.id)).rejects.toBeTruthy();
    } finally {
      redis.disconnect();
      await viaProxy.end({ timeout: 1 });
      await proxy.close();
    }
  });
});

describe('the purchase catalog under a flood of unknown ids', () => {
  it('when thousands of random well-formed ids are asked, then it holds at most its caps and each id cost one query', async () => {
    const event = await createTestEvent(sql, [5]);
    const counter = countedFind();
    const catalog = createCatalog(sql, options({ maxEvents: 10, maxUnknown: 50, find: counter.find }));
    expect(await catalog.event(event.id)).toBeDefined();
    const ids = Array.from({ length: 2_000 }, () => randomUUID());
    for (let i = 0; i < ids.length; i += 200)
      await Promise.all(ids.slice(i, i + 200).map(async (id) => expect(await catalog.event(id)).toBeUndefined()));
    expect(catalog.sizes()).toEqual({ events: 1, unknown: 50 });
    expect(counter.queries).toBe(1 + ids.length);
    // The real event was not evicted by the flood: asking it again costs nothing.
    expect((await catalog.event(event.id))?.id).toBe(event.id);
    expect(counter.queries).toBe(1 + ids.length);
  });

  it('when an unknown id is asked again within the negative TTL, then it costs no query, and after it one more', async () => {
    const counter = countedFind();
    const catalog = createCatalog(sql, options({ negativeTtlMs: 150, find: counter.find }));
    const id = randomUUID();
    const answers = await Promise.all(Array.from({ length: 50 }, () => catalog.event(id)));
    expect(answers.every((a) => a === undefined)).toBe(true);
    for (let i = 0; i < 50; i += 1) expect(await catalog.event(id)).toBeUndefined();
    expect(counter.queries).toBe(1);
    await new Promise((r) => setTimeout(r, 200));
    expect(await catalog.event(id)).toBeUndefined();
    expect(counter.queries).toBe(2);
  });

  it('when more real events are asked than the cap, then the least recently used is evicted and read again on its next use', async () => {
    const events = await Promise.all([1, 2, 3].map(() => createTestEvent(sql, [1])));
    const counter = countedFind();
    const catalog = createCatalog(sql, options({ maxEvents: 2, find: counter.find }));
    const [a, b, c] = events as [TestEvent, TestEvent, TestEvent];
    await catalog.event(a.id);
    await catalog.event(b.id);
    await catalog.event(a.id); // a is now the most recently used
    await catalog.event(c.id); // evicts b
    expect(counter.queries).toBe(3);
    await catalog.event(a.id);
    expect(counter.queries).toBe(3);
    await catalog.event(b.id);
    expect(counter.queries).toBe(4);
  });
});
