import { createSql } from '@stampede/core/db';
import { createRedis, redisKeys } from '@stampede/core/redis';
import {
  createTestEvent,
  startTcpProxy,
  testConfig,
  testDatabaseUrlVia,
  testLogger,
  testSql,
  waitFor,
} from '@stampede/lab/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { createCatalog } from '../src/domain/catalog.js';

const sql = testSql();
afterAll(() => sql.end({ timeout: 1 }));

describe('the purchase catalog', () => {
  it('when the database turns slow after an event was loaded, then purchases read the known event without waiting, and the refresh lands later', async () => {
    const event = await createTestEvent(sql, [5]);
    const proxy = await startTcpProxy(5432);
    const slowSql = createSql(testConfig({ DATABASE_URL: testDatabaseUrlVia(proxy.port) }), {
      max: 2,
    });
    try {
      const catalog = createCatalog(slowSql, 20);
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
      await expect(createCatalog(deadSql).event(event.id)).rejects.toBeTruthy();
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
      await createCatalog(sql, 5_000, shared).event(event.id);
      await waitFor(async () => (await redis.exists(shared.keys.catalog(event.id))) === 1, { what: 'shared copy' });

      await proxy.cut();
      const fresh = createCatalog(viaProxy, 5_000, shared);
      const known = await fresh.event(event.id);
      expect(known?.tiers[0]?.capacity).toBe(7);
      expect(known?.saleOpensAt).toBeInstanceOf(Date);

      const alone = createCatalog(viaProxy, 5_000);
      await expect(alone.event(event.id)).rejects.toBeTruthy();
    } finally {
      redis.disconnect();
      await viaProxy.end({ timeout: 1 });
      await proxy.close();
    }
  });
});
