import { queryAvailability } from '@stampede/core/events';
import { redisKeys } from '@stampede/core/redis';
import {
  createTestEvent,
  startPrivateRedis,
  startTcpProxy,
  type TcpProxy,
  testDatabaseUrlVia,
  testLogger,
  testSql,
  waitFor,
} from '@stampede/lab/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAvailabilityService } from '../src/domain/availability-service.js';
import { buildTestApp, type TestApp } from './app-fixture.js';

const sql = testSql();
afterAll(() => sql.end({ timeout: 1 }));

describe('availability reads, cache-aside', () => {
  let t: TestApp;
  beforeAll(() => {
    t = buildTestApp({ CACHE_TTL_MS: 60_000 });
  });
  afterAll(() => t.close());

  it('when the cache is cold, then the first read is a miss from Postgres and the next a hit from Redis', async () => {
    const event = await createTestEvent(sql, [10, 5]);
    const first = await t.app.request(`/events/${event.id}/availability`);
    expect(first.status).toBe(200);
    expect(first.headers.get('x-cache')).toBe('miss');
    const body = await first.json();
    expect(body.tiers.map((x: { remaining: number }) => x.remaining).sort()).toEqual([10, 5].sort());
    expect(body.stale).toBe(false);
    expect(await t.redis.exists(redisKeys(t.config.REDIS_KEY_PREFIX).availability(event.id))).toBe(1);

    const second = await t.app.request(`/events/${event.id}/availability`);
    expect(second.headers.get('x-cache')).toBe('hit');
    expect(second.headers.get('x-served-by')).toBe(t.config.INSTANCE_NAME);
  });

  it('when a tier sells tickets and the fresh TTL passes, then the read shows the new figure', async () => {
    const short = buildTestApp({ CACHE_TTL_MS: 50 });
    try {
      const event = await createTestEvent(sql, [10]);
      await short.app.request(`/events/${event.id}/availability`);
      await sql`update tiers set sold = 4 where id = ${event.tiers[0]!.id}`;
      await new Promise((r) => setTimeout(r, 80));
      const res = await short.app.request(`/events/${event.id}/availability`);
      expect(res.headers.get('x-cache')).toBe('miss');
      expect((await res.json()).tiers[0].remaining).toBe(6);
    } finally {
      await short.close();
    }
  });

  it('when hundreds of reads arrive at once on a cold key, then Postgres is queried once', async () => {
    const event = await createTestEvent(sql, [50]);
    let queries = 0;
    const availability = createAvailabilityService({
      redis: t.redis,
      keys: redisKeys(t.config.REDIS_KEY_PREFIX),
      log: testLogger(),
      load: (id) => {
        queries += 1;
        return queryAvailability(sql, id);
      },
      ttlMs: 60_000,
      staleTtlMs: 60_000,
      softTimeoutMs: 300,
    });
    const counted = buildTestApp({}, { availability });
    try {
      const responses = await Promise.all(
        Array.from({ length: 300 }, () => counted.app.request(`/events/${event.id}/availability`)),
      );
      expect(responses.every((r) => r.status === 200)).toBe(true);
      expect(queries).toBe(1);
    } finally {
      await counted.close();
    }
  });

  it('when the id is not a UUID, then the answer is a 400 problem; when the event does not exist, a 404 problem', async () => {
    const bad = await t.app.request('/events/not-an-id/availability');
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toContain('application/problem+json');
    expect((await bad.json()).code).toBe('invalid_id');

    const missing = await t.app.request('/events/6f1c1e7e-0000-4000-8000-000000000000/availability');
    expect(missing.status).toBe(404);
    expect((await missing.json()).code).toBe('event_not_found');
  });
});

describe('availability reads when Redis dies and comes back', () => {
  let redis: Awaited<ReturnType<typeof startPrivateRedis>>;
  let t: TestApp;
  beforeAll(async () => {
    redis = await startPrivateRedis();
    t = buildTestApp({ REDIS_URL: redis.url, CACHE_TTL_MS: 60_000, CACHE_L1_TTL_MS: 0 });
    await waitFor(() => t.redis.status === 'ready', { what: 'redis ready' });
  });
  afterAll(async () => {
    await t.close();
    await redis.close();
  });

  it('when redis-server is killed, then reads answer 200 from Postgres without waiting on Redis, and caching resumes when it is back', async () => {
    const event = await createTestEvent(sql, [7]);
    const url = `/events/${event.id}/availability`;
    expect((await t.app.request(url)).headers.get('x-cache')).toBe('miss');
    expect((await t.app.request(url)).headers.get('x-cache')).toBe('hit');

    await redis.kill();
    await waitFor(() => t.redis.status !== 'ready', { what: 'client to notice' });
    for (let i = 0; i < 20; i += 1) {
      const started = performance.now();
      const res = await t.app.request(url);
      const elapsed = performance.now() - started;
      expect(res.status).toBe(200);
      expect(res.headers.get('x-cache')).toBe('bypass');
      expect((await res.json()).tiers[0].remaining).toBe(7);
      // Far below the Redis connect timeout: a dead cache must not make each read wait.
      expect(elapsed).toBeLessThan(t.config.REDIS_CONNECT_TIMEOUT_MS);
    }

    await redis.start();
    await waitFor(() => t.redis.status === 'ready', { timeoutMs: 10_000, what: 'client to reconnect' });
    expect((await t.app.request(url)).headers.get('x-cache')).toBe('miss');
    expect((await t.app.request(url)).headers.get('x-cache')).toBe('hit');
  });
});

describe('availability reads when Postgres is unreachable', () => {
  let proxy: TcpProxy;
  let t: TestApp;
  beforeAll(async () => {
    proxy = await startTcpProxy(5432);
    t = buildTestApp({
      DATABASE_URL: testDatabaseUrlVia(proxy.port),
      CACHE_TTL_MS: 20,
      DATABASE_CONNECT_TIMEOUT_S: 1,
    });
  });
  afterAll(async () => {
    await proxy.close();
    await t.close();
  });

  it('when a value was cached before, then the last known value is served marked stale; when none was, a 503 problem', async () => {
    const cached = await createTestEvent(sql, [12]);
    const never = await createTestEvent(sql, [3]);
    expect((await t.app.request(`/events/${cached.id}/availability`)).status).toBe(200);

    await proxy.cut();
    await new Promise((r) => setTimeout(r, 40));
    const stale = await t.app.request(`/events/${cached.id}/availability`);
    expect(stale.status).toBe(200);
    expect(stale.headers.get('x-cache')).toBe('stale');
    const body = await stale.json();
    expect(body.stale).toBe(true);
    expect(body.tiers[0].remaining).toBe(12);

    const none = await t.app.request(`/events/${never.id}/availability`);
    expect(none.status).toBe(503);
    expect((await none.json()).code).toBe('data_unavailable');

    await proxy.heal();
    await waitFor(
      async () => (await t.app.request(`/events/${cached.id}/availability`)).headers.get('x-cache') === 'miss',
      { what: 'fresh read after heal' },
    );
  });
});
