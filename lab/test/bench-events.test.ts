import { afterAll, describe, expect, it } from 'vitest';
import { createBenchEvents, deleteBenchEvents, HOT_TIER_CAPACITY } from '../src/bench/bench-events.js';
import { testSql } from '../testing/fixtures.js';

const sql = testSql();
afterAll(() => sql.end({ timeout: 1 }));

const bucketsOf = (tierId: string) =>
  sql<{ buckets: number; rows: number; capacity: number }[]>`
    select t.buckets, count(b.bucket)::int as rows, coalesce(sum(b.capacity), 0)::int as capacity
    from tiers t left join tier_buckets b on b.tier_id = t.id where t.id = ${tierId} group by t.buckets`;

describe('benchmark events', () => {
  it('when the drain asks for K buckets, then the admission tier alone is split into K rows holding its whole capacity', async () => {
    const events = await createBenchEvents(sql, { hotBuckets: 4 });
    try {
      expect(await bucketsOf(events.admission.tiers[0]!.id)).toEqual([
        { buckets: 4, rows: 4, capacity: HOT_TIER_CAPACITY },
      ]);
      expect(await bucketsOf(events.spikeQueued.tiers[0]!.id)).toEqual([{ buckets: 1, rows: 0, capacity: 0 }]);
    } finally {
      await deleteBenchEvents(sql, events);
    }
  });

  it('when no buckets are asked for, then no tier is split', async () => {
    const events = await createBenchEvents(sql);
    try {
      expect(await bucketsOf(events.admission.tiers[0]!.id)).toEqual([{ buckets: 1, rows: 0, capacity: 0 }]);
    } finally {
      await deleteBenchEvents(sql, events);
    }
  });
});
