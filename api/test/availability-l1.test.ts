import { randomUUID } from 'node:crypto';
import { type BackplaneMessageOf, createBackplanePublisher } from '@stampede/core/backplane';
import { cachedNow, writeCachedAvailability } from '@stampede/core/cache';
import type { Sql } from '@stampede/core/db';
import { queryAvailability } from '@stampede/core/events';
import { createRedis, redisKeys } from '@stampede/core/redis';
import {
  createTestEvent,
  type PrivateRedis,
  startPrivateRedis,
  startTcpProxy,
  testConfig,
  testLogger,
  testSql,
  waitFor,
} from '@stampede/lab/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestReplicas, type TestApp } from './app-fixture.js';

const sql = testSql();
afterAll(() => sql.end({ timeout: 1 }));

/** Availability queries of one replica, by event id. */
function countedQueries() {
  const byEvent = new Map<string, number>();
  return {
    byEvent,
    query: (s: Sql, eventId: string) => {
      byEvent.set(eventId, (byEvent.get(eventId) ?? 0) + 1);
      return queryAvailability(s, eventId);
    },
  };
}

/** GETs the server has answered since it started (INFO commandstats). */
async function getCalls(url: string): Promise<number> {
  const config = testConfig({ REDIS_URL: url });
  const probe = createRedis(config, testLogger(config));
  try {
    await waitFor(() => probe.status === 'ready', { what: 'probe' });
    const stats = await probe.info('commandstats');
    return Number(/cmdstat_get:calls=(\d+)/.exec(stats)?.[1] ?? 0);
  } finally {
    probe.disconnect();
  }
}

/**
 * A Redis command timeout no loaded machine reaches: a backplane heartbeat PING that times
 * out while 1,000 reads hold the event loop resubscribes, and a resubscribe rightly drops
 * the whole L1 (messages may have been missed), which is not what these tests are about.
 */
const PATIENT = 10_000;

const read = (r: TestApp, eventId: string) => r.app.request(`/events/${eventId}/availability`);

describe('the L1: availability in each replica’s memory', () => {
  // Longer than a loaded machine takes for the cold reads and the spike together (they can
  // take seconds each at a load of 10 on 2 cores), so the spike falls within the TTL of
  // entries filled at the start of the cold reads, and the spike after it refills once.
  const L1_TTL = 10_000;
  let redis: PrivateRedis;
  let replicas: TestApp[];
  const counters = [countedQueries(), countedQueries(), countedQueries()];
  beforeAll(async () => {
    redis = await startPrivateRedis();
    replicas = await buildTestReplicas(
      3,
      { REDIS_URL: redis.url, CACHE_TTL_MS: 60_000, CACHE_L1_TTL_MS: L1_TTL, REDIS_COMMAND_TIMEOUT_MS: PATIENT },
      (i) => ({
        queryAvailability: counters[i]!.query,
      }),
    );
  });
  afterAll(async () => {
    for (const r of replicas) await r.close();
    await redis.close();
  });

  it('when 1,000 reads of two cold events arrive at once over three replicas, then each replica queries Postgres once per event, and a spike within the TTL reads Redis no more', async () => {
    const events = await Promise.all([createTestEvent(sql, [10]), createTestEvent(sql, [20])]);
    const reads = Array.from({ length: 1_000 }, (_, i) => read(replicas[i % 3]!, events[i % 2]!.id));
    const answers = await Promise.all(reads);
    const filledBy = performance.now();
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
    for (const c of counters) expect([...c.byEvent.entries()].sort()).toEqual(events.map((e) => [e.id, 1]).sort());

    const before = await getCalls(redis.url);
    const spike = await Promise.all(Array.from({ length: 1_000 }, (_, i) => read(replicas[i % 3]!, events[i % 2]!.id)));
    expect(spike.every((r) => r.headers.get('x-cache') === 'hit' && r.headers.get('x-cache-level') === 'l1')).toBe(
      true,
    );
    expect(await getCalls(redis.url)).toBe(before);

    // Once the L1 TTL has passed, a spike costs one Redis GET per replica per event.
    await new Promise((r) => setTimeout(r, Math.max(0, filledBy + L1_TTL + 50 - performance.now())));
    const afterTtl = await getCalls(redis.url);
    await Promise.all(Array.from({ length: 1_000 }, (_, i) => read(replicas[i % 3]!, events[i % 2]!.id)));
    expect((await getCalls(redis.url)) - afterTtl).toBe(6);
    for (const c of counters) expect([...c.byEvent.values()]).toEqual([1, 1]);
  }, 60_000);
});

describe('the L1 when the backplane is cut', () => {
  it('when a replica no longer hears the backplane, then it shows a change no later than its L1 TTL, while a replica that hears it shows it at once', async () => {
    const proxy = await startTcpProxy(6379);
    // Long enough that no loaded machine spends it between the steps below: every time bound
    // here is the TTL itself, measured from before the read that filled the L1.
    const L1_TTL = 5_000;
    const replicas = await buildTestReplicas(
      2,
      { CACHE_TTL_MS: 60_000, CACHE_L1_TTL_MS: L1_TTL, REDIS_COMMAND_TIMEOUT_MS: PATIENT },
      () => ({}),
      (i) => (i === 0 ? `redis://127.0.0.1:${proxy.port}` : undefined),
    );
    const [cut, hearing] = replicas as [TestApp, TestApp];
    const sleepUntil = (t: number) => new Promise((r) => setTimeout(r, Math.max(0, t - performance.now())));
    try {
      const event = await createTestEvent(sql, [10]);
      const remaining = async (r: TestApp) => (await (await read(r, event.id)).json()).tiers[0].remaining as number;
      await proxy.cut();
      await waitFor(async () => (await (await cut.app.request('/health/ready')).json()).status === 'degraded', {
        what: 'readiness degraded',
      });
      const ready = await (await cut.app.request('/health/ready')).json();
      expect(ready.dependencies.backplane.status).toBe('down');
      expect(ready.dependencies.redis.status).toBe('up');

      // Both fill their L1 now: neither entry can expire before filledFrom + L1_TTL.
      const filledFrom = performance.now();
      expect(await remaining(hearing)).toBe(10);
      expect(await remaining(cut)).toBe(10);
      const filledBy = performance.now();

      // As the worker does after a commit: Postgres, then Redis, then the announcement.
      await sql`update tiers set sold = 4 where id = ${event.tiers[0]!.id}`;
      const entry = cachedNow((await queryAvailability(sql, event.id))!);
      await writeCachedAvailability(cut.redis, redisKeys(cut.config.REDIS_KEY_PREFIX), entry, 60_000);
      const message: BackplaneMessageOf<'availability_changed'> = {
        v: 1,
        from: 'test',
        sentAt: Date.now(),
        kind: 'availability_changed',
        events: [{ eventId: event.id, entry }],
      };
      const { v: _v, from: _f, sentAt: _s, ...draft } = message;
      await createBackplanePublisher(hearing.redis, hearing.config, testLogger()).publish(draft);
      await waitFor(async () => (await remaining(hearing)) === 6, {
        timeoutMs: L1_TTL,
        intervalMs: 5,
        what: 'hearing',
      });
      // Only the announcement can explain the change before the hearing replica's L1 expired.
      const staleAsked = performance.now();
      expect(staleAsked - filledFrom).toBeLessThan(L1_TTL);
      expect(await remaining(cut)).toBe(10); // still within its L1 TTL: the stale answer
      // Past the TTL of the cut replica's entry, its next read shows the change.
      await sleepUntil(filledBy + L1_TTL + 10);
      expect(await remaining(cut)).toBe(6);
    } finally {
      for (const r of replicas) await r.close();
      await proxy.close();
    }
  });
});

describe('availability of an event that does not exist', () => {
  it('when an unknown id is read again and again, then Postgres is asked once per negative TTL, and a flood of ids evicts no real event', async () => {
    const counter = countedQueries();
    const [r] = await buildTestReplicas(
      1,
      { CATALOG_NEGATIVE_TTL_MS: 300, CATALOG_MAX_UNKNOWN: 20, CACHE_TTL_MS: 60_000, CACHE_L1_TTL_MS: 60_000 },
      () => ({ queryAvailability: counter.query }),
    );
    try {
      const event = await createTestEvent(sql, [5]);
      expect((await read(r!, event.id)).status).toBe(200);
      const unknownId = randomUUID();
      for (let i = 0; i < 20; i += 1) expect((await read(r!, unknownId)).status).toBe(404);
      expect(counter.byEvent.get(unknownId)).toBe(1);
      await new Promise((res) => setTimeout(res, 350));
      expect((await read(r!, unknownId)).status).toBe(404);
      expect(counter.byEvent.get(unknownId)).toBe(2);

      const flood = Array.from({ length: 200 }, () => randomUUID());
      for (const id of flood) expect((await read(r!, id)).status).toBe(404);
      // Only the last 20 are remembered: the first of the flood is asked again, the last is not.
      expect((await read(r!, flood[0]!)).status).toBe(404);
      expect(counter.byEvent.get(flood[0]!)).toBe(2);
      expect((await read(r!, flood.at(-1)!)).status).toBe(404);
      expect(counter.byEvent.get(flood.at(-1)!)).toBe(1);
      // The real event is still answered from memory.
      const res = await read(r!, event.id);
      expect(res.headers.get('x-cache-level')).toBe('l1');
      expect(counter.byEvent.get(event.id)).toBe(1);
    } finally {
      await r!.close();
    }
  });
});
