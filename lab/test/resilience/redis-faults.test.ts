import { redisKeys } from '@stampede/core/redis';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { redisFlush, redisOutage } from '../../src/chaos/service-scenarios.js';
import { is, tally } from '../../src/chaos/verdict.js';
import { expectEveryAcceptedDecidedOnce, expectPass, runQuick, useScenarioLab } from './use-scenario-lab.js';

/** Redis is the lab's own redis-server here, so it can really be killed and flushed. */
describe('resilience: Redis killed and flushed', () => {
  const t = useScenarioLab({ services: ['redis'] });

  it('when redis-server is SIGKILLed under load, then reads come from Postgres, purchases are accepted ungated, and after its restart the gate is rebuilt and caching resumes with nothing oversold', async () => {
    const result = await runQuick(redisOutage, t.lab.target);
    expectPass(result);
    expect(tally(result, 'reads', 'fault', is('200 bypass'))).toBeGreaterThan(0);
    expect(tally(result, 'reads', 'fault', (l) => !l.startsWith('200'))).toBe(0);
    expect(tally(result, 'purchases', 'fault', is('202'))).toBeGreaterThan(0);
    expect(tally(result, 'reads', 'recovery', is('200 hit'))).toBeGreaterThan(0);
    expect(result.facts.gateRebuilt).toBe(1);
    await expectEveryAcceptedDecidedOnce(t.sql, result);
    // The small tier sold out: the purchases let through ungated were refused by Postgres, not oversold.
    const [floor] = await t.sql<
      { capacity: number; sold: number }[]
    >`select capacity, sold from tiers where id = ${result.tierIds[0]!}`;
    expect(floor!.sold).toBe(floor!.capacity);
  }, 120_000);

  it('when Redis is flushed under load, then the gate and the cache rebuild from Postgres and nothing is oversold', async () => {
    const result = await runQuick(redisFlush, t.lab.target);
    expectPass(result);
    await expectEveryAcceptedDecidedOnce(t.sql, result);
    const redis = new Redis(t.lab.target.config.REDIS_URL);
    try {
      const keys = redisKeys(t.lab.target.config.REDIS_KEY_PREFIX);
      const [floor] = await t.sql<
        { capacity: number; sold: number }[]
      >`select capacity, sold from tiers where id = ${result.tierIds[0]!}`;
      // Once drained (and the worker's idle reconciliation has run), the gate offers exactly what is left.
      await expect
        .poll(async () => Number(await redis.get(keys.stock(result.eventId, result.tierIds[0]!))), { timeout: 20_000 })
        .toBe(floor!.capacity - floor!.sold);
    } finally {
      redis.disconnect();
    }
  }, 120_000);
});
