import { createGate } from '@stampede/core/gate';
import { redisKeys } from '@stampede/core/redis';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { workerKill, workerKillOne, workerRestart } from '../../src/chaos/process-scenarios.js';
import { is, tally } from '../../src/chaos/verdict.js';
import { labStatus } from '../../src/local-lab/status.js';
import { expectEveryAcceptedDecidedOnce, expectPass, runQuick, useScenarioLab } from './use-scenario-lab.js';

/**
 * The worker faults with three workers deciding side by side, against the shared Postgres,
 * Redis and RabbitMQ under this lab's own prefixes. One lab for the file.
 */
describe('resilience: three workers', () => {
  // Tiny batches with a simulated 100 ms payment and a small prefetch: each worker holds a share
  // of the backlog, and the drain spans many commits even with three workers.
  const t = useScenarioLab({
    services: [],
    workers: 3,
    env: { WORKER_BATCH_SIZE: '5', WORKER_PREFETCH: '10', PAYMENT_LATENCY_MS: '100' },
  });

  it('when one of three workers is SIGKILLed mid-drain, then the others take what it held and every purchase is decided exactly once: 0 lost, 0 oversold, 0 duplicated', async () => {
    const result = await runQuick(workerKillOne, t.lab.target, { faultMs: 6_000, purchasesPerSecond: 60 });
    expectPass(result);
    expect(result.facts.decidedAtKill).toBeGreaterThan(0);
    expect(result.facts.undecidedAtKill).toBeGreaterThan(0);
    expect(result.facts.decidedWhileDown).toBeGreaterThan(0);
    await expectEveryAcceptedDecidedOnce(t.sql, result);
    const workers = (await labStatus(t.lab.target.dir)).components.filter((c) => c.name.startsWith('worker'));
    expect(workers.map((w) => [w.name, w.condition])).toEqual([
      ['worker-1', 'up'],
      ['worker-2', 'up'],
      ['worker-3', 'up'],
    ]);
  }, 150_000);

  it('when one of three workers is SIGKILLed mid-drain on a hot tier split into 4 buckets, then the tier sells exactly its capacity and every purchase is decided exactly once', async () => {
    const result = await runQuick(workerKillOne, t.lab.target, {
      faultMs: 6_000,
      purchasesPerSecond: 60,
      floorCapacity: 120,
      floorBuckets: 4,
    });
    expectPass(result);
    expect(result.facts.undecidedAtKill).toBeGreaterThan(0);
    await expectEveryAcceptedDecidedOnce(t.sql, result);
    const [floor] = await t.sql<{ capacity: number; sold: number; buckets: number; confirmed: number }[]>`
      select s.capacity, s.sold, t.buckets,
             (select coalesce(sum(quantity), 0)::int from purchases p where p.tier_id = t.id and p.status = 'confirmed') as confirmed
      from tiers t join tier_stock s on s.tier_id = t.id where t.event_id = ${result.eventId} and t.name = 'Floor'`;
    expect(floor).toEqual({ capacity: 120, sold: 120, buckets: 4, confirmed: 120 });
    const byBucket = await t.sql<{ bucket: number; n: number }[]>`
      select p.bucket, count(*)::int as n from purchases p join tiers t on t.id = p.tier_id
      where t.event_id = ${result.eventId} and t.name = 'Floor' and p.status = 'confirmed' group by 1`;
    expect(byBucket.length).toBeGreaterThan(1);
    // The burst was larger than the tier: the gate refused the rest fast, and admitted no
    // more than the tier had (Postgres refused nobody sold_out), its 4 buckets left empty.
    expect(tally(result, 'purchases', 'all', is('409 sold_out'))).toBeGreaterThan(0);
    const [refused] = await t.sql<{ n: number }[]>`
      select count(*)::int as n from purchases p join tiers t on t.id = p.tier_id
      where t.event_id = ${result.eventId} and t.name = 'Floor' and p.reason = 'sold_out'`;
    expect(refused!.n).toBe(0);
    const [floorRow] = await t.sql<{ id: string }[]>`
      select id from tiers where event_id = ${result.eventId} and name = 'Floor'`;
    const floorId = floorRow!.id;
    const redis = new Redis(t.lab.target.config.REDIS_URL);
    try {
      const gate = createGate(redis, redisKeys(t.lab.target.config.REDIS_KEY_PREFIX));
      expect((await gate.tierStates([floorId])).get(floorId)).toEqual({ stock: 0, held: 0, buckets: [0, 0, 0, 0] });
    } finally {
      redis.disconnect();
    }
  }, 150_000);

  it('when all three workers are SIGKILLed mid-drain, then the backlog is redelivered and decided exactly once', async () => {
    const result = await runQuick(workerKill, t.lab.target, { faultMs: 4_000, purchasesPerSecond: 60 });
    expectPass(result);
    await expectEveryAcceptedDecidedOnce(t.sql, result);
  }, 150_000);

  it('when all three workers are stopped under load, then purchases still get 202 and queue up, and after the start the backlog drains', async () => {
    const result = await runQuick(workerRestart, t.lab.target);
    expectPass(result);
    expect(result.maxQueued.fault).toBeGreaterThan(0);
    await expectEveryAcceptedDecidedOnce(t.sql, result);
  }, 150_000);
});
