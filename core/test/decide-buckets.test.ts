import { availableForGate, lockAvailableByTier } from '@stampede/core/events';
import { type DecidedPurchase, type Decision, decidePurchases } from '@stampede/core/purchases';
import { createTestEvent, purchaseFigures, purchaseMessage, type TestEvent, testSql } from '@stampede/lab/testing';
import { afterAll, describe, expect, it } from 'vitest';

const sql = testSql(undefined, 20);
afterAll(() => sql.end({ timeout: 1 }));

const decided = (d: Decision) => {
  if (d.kind !== 'decided') throw new Error(`expected a decision, got poison: ${d.detail}`);
  return d as DecidedPurchase;
};

async function bucketRows(event: TestEvent) {
  return sql<{ bucket: number; capacity: number; sold: number }[]>`
    select bucket, capacity, sold from tier_buckets where tier_id = ${event.tiers[0]!.id} order by bucket`;
}

describe('decidePurchases on a tier split into buckets', () => {
  it('when a burst larger than capacity arrives as concurrent batches of every bucket, then sold == capacity exactly, nothing is refused while stock is left, and the buckets still sum to the capacity', async () => {
    const event = await createTestEvent(sql, [100], { buckets: [4] });
    // Uneven demand: bucket 0 is asked for far more than its 25, bucket 3 for less.
    const demand = [120, 40, 30, 10];
    const batches = demand.flatMap((n, bucket) =>
      Array.from({ length: n / 10 }, () => Array.from({ length: 10 }, () => purchaseMessage(event, { bucket }))),
    );
    const results = await Promise.all(batches.map((b) => decidePurchases(sql, b, { buyerLimit: 6 })));

    const all = results.flat().map(decided);
    expect(all).toHaveLength(200);
    expect(all.filter((d) => d.status === 'confirmed')).toHaveLength(100);
    expect(all.filter((d) => d.status === 'rejected').every((d) => d.reason === 'sold_out')).toBe(true);
    const figures = await purchaseFigures(sql, event);
    expect(figures.sold).toBe(100);
    expect(figures.confirmedQuantity).toBe(100);
    const rows = await bucketRows(event);
    expect(rows.reduce((n, r) => n + r.capacity, 0)).toBe(100);
    expect(rows.every((r) => r.sold === r.capacity)).toBe(true);
    // Each purchase row names the bucket whose stock it took.
    const byBucket = await sql<{ bucket: number; n: number }[]>`
      select bucket, sum(quantity)::int as n from purchases where tier_id = ${event.tiers[0]!.id} and status = 'confirmed'
      group by bucket order by bucket`;
    expect(byBucket.map((r) => r.n)).toEqual(rows.map((r) => r.sold));
  });

  it('when a bucket has run dry while another has tickets, then a purchase of the dry bucket is confirmed with stock moved from the other', async () => {
    const event = await createTestEvent(sql, [4], { buckets: [2] });
    const first = await decidePurchases(sql, [purchaseMessage(event, { bucket: 0, quantity: 2 })], { buyerLimit: 6 });
    expect(decided(first[0]!).status).toBe('confirmed');
    // Bucket 0 is empty; 3 tickets: 1 short there, taken from bucket 1.
    const [d] = await decidePurchases(sql, [purchaseMessage(event, { bucket: 0, quantity: 2 })], { buyerLimit: 6 });
    expect(decided(d!).status).toBe('confirmed');
    expect(await bucketRows(event)).toEqual([
      { bucket: 0, capacity: 4, sold: 4 },
      { bucket: 1, capacity: 0, sold: 0 },
    ]);
    const [late] = await decidePurchases(sql, [purchaseMessage(event, { bucket: 1 })], { buyerLimit: 6 });
    expect(decided(late!)).toMatchObject({ status: 'rejected', reason: 'sold_out' });
    expect((await availableForGate(sql, [event.tiers[0]!.id])).get(event.tiers[0]!.id)).toEqual([0, 0]);
  });

  it('when the whole tier is short of a purchase split over buckets, then it is refused sold_out and no capacity moves', async () => {
    const event = await createTestEvent(sql, [4], { buckets: [2] });
    const [d] = await decidePurchases(sql, [purchaseMessage(event, { bucket: 1, quantity: 5 })], { buyerLimit: 6 });
    expect(decided(d!)).toMatchObject({ status: 'rejected', reason: 'sold_out' });
    expect(await bucketRows(event)).toEqual([
      { bucket: 0, capacity: 2, sold: 0 },
      { bucket: 1, capacity: 2, sold: 0 },
    ]);
  });

  it('when a batch of one bucket holds its locks, then a batch of another bucket of the same tier commits meanwhile', async () => {
    const event = await createTestEvent(sql, [10], { buckets: [2] });
    const tierId = event.tiers[0]!.id;
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => {
      locked = r;
    });
    // What a batch of bucket 0 holds while it decides.
    const holder = sql.begin(async (tx) => {
      await tx`select id from tiers where id = ${tierId} for share`;
      await tx`select bucket from tier_buckets where tier_id = ${tierId} and bucket = 0 for update`;
      locked();
      await held;
    });
    await isLocked;
    const other = await Promise.race([
      decidePurchases(sql, [purchaseMessage(event, { bucket: 1 })], { buyerLimit: 6 }),
      new Promise<'blocked'>((r) => setTimeout(() => r('blocked'), 5_000)),
    ]);
    release();
    await holder;
    expect(other).not.toBe('blocked');
    expect(decided((other as Decision[])[0]!).status).toBe('confirmed');
  });

  it('when a batch of a bucket holds its tier, then reconciliation skips the tier, and once it committed reads the buckets it left', async () => {
    const event = await createTestEvent(sql, [10], { buckets: [2] });
    const tierId = event.tiers[0]!.id;
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => {
      locked = r;
    });
    const batch = sql.begin(async (tx) => {
      await tx`select id from tiers where id = ${tierId} for share`;
      await tx`update tier_buckets set sold = sold + 3 where tier_id = ${tierId} and bucket = 1`;
      locked();
      await held;
    });
    await isLocked;
    const during = await sql.begin((tx) => lockAvailableByTier(tx, [tierId]));
    release();
    await batch;
    const after = await sql.begin((tx) => lockAvailableByTier(tx, [tierId]));
    expect(during.has(tierId)).toBe(false);
    expect(after.get(tierId)).toEqual([5, 2]);
    expect((await availableForGate(sql, [tierId])).get(tierId)).toEqual([5, 2]);
  });
});
