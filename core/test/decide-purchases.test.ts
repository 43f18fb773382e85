import { randomUUID } from 'node:crypto';
import { setSaleOpen } from '@stampede/core/events';
import { type DecidedPurchase, type Decision, decidePurchases, simulatedPayment } from '@stampede/core/purchases';
import { createTestEvent, purchaseFigures, purchaseMessage, testSql } from '@stampede/lab/testing';
import { afterAll, describe, expect, it } from 'vitest';

const sql = testSql(undefined, 20);
afterAll(() => sql.end({ timeout: 1 }));

const decided = (d: Decision) => {
  if (d.kind !== 'decided') throw new Error(`expected a decision, got poison: ${d.detail}`);
  return d as DecidedPurchase;
};

describe('decidePurchases', () => {
  it('when a burst larger than capacity arrives as concurrent batches and single purchases, then sold == capacity exactly and every purchase is final', async () => {
    const event = await createTestEvent(sql, [50]);
    const batches = Array.from({ length: 6 }, () => Array.from({ length: 30 }, () => purchaseMessage(event)));
    const singles = Array.from({ length: 60 }, () => [purchaseMessage(event)]);
    const results = await Promise.all([...batches, ...singles].map((b) => decidePurchases(sql, b, { buyerLimit: 6 })));

    const all = results.flat().map(decided);
    expect(all).toHaveLength(240);
    expect(all.filter((d) => d.status === 'confirmed')).toHaveLength(50);
    expect(all.filter((d) => d.status === 'rejected').every((d) => d.reason === 'sold_out')).toBe(true);
    expect(all.some((d) => d.duplicate)).toBe(false);
    const figures = await purchaseFigures(sql, event);
    expect(figures.sold).toBe(50);
    expect(figures.confirmedQuantity).toBe(50);
    expect(figures.rows).toBe(240);
    expect(figures.count('rejected', 'sold_out')).toBe(190);
  });

  it('when the same idempotency key arrives in concurrent batches, then one row is written and every copy gets its decision', async () => {
    const event = await createTestEvent(sql, [100]);
    const twin = purchaseMessage(event, { quantity: 2 });
    const batches = Array.from({ length: 8 }, () => [purchaseMessage(event), { ...twin }, purchaseMessage(event)]);
    const results = await Promise.all(batches.map((b) => decidePurchases(sql, b, { buyerLimit: 6 })));

    const copies = results.map((r) => decided(r[1]!));
    expect(new Set(copies.map((d) => d.purchaseId))).toEqual(new Set([twin.purchaseId]));
    expect(copies.every((d) => d.status === 'confirmed')).toBe(true);
    expect(copies.filter((d) => !d.duplicate)).toHaveLength(1);
    const [row] = await sql<
      { count: number }[]
    >`select count(*)::int as count from purchases where idempotency_key = ${twin.idempotencyKey}`;
    expect(row!.count).toBe(1);
    expect((await purchaseFigures(sql, event)).sold).toBe(2 + 16);
  });

  it('when a message is redelivered, then it is answered from the row: no second row, no second decrement', async () => {
    const event = await createTestEvent(sql, [10]);
    const m = purchaseMessage(event, { quantity: 3 });
    const first = decided((await decidePurchases(sql, [m], { buyerLimit: 6 }))[0]!);
    const again = decided((await decidePurchases(sql, [m], { buyerLimit: 6 }))[0]!);
    expect(first).toMatchObject({ status: 'confirmed', duplicate: false, purchaseId: m.purchaseId });
    expect(again).toMatchObject({
      status: 'confirmed',
      duplicate: true,
      purchaseId: m.purchaseId,
      decidedAt: first.decidedAt,
    });
    const figures = await purchaseFigures(sql, event);
    expect(figures.rows).toBe(1);
    expect(figures.sold).toBe(3);
  });

  it('when one batch holds the same key twice (a redelivery and a retry), then it is decided once', async () => {
    const event = await createTestEvent(sql, [10]);
    const m = purchaseMessage(event, { quantity: 2 });
    const [a, b] = (await decidePurchases(sql, [m, { ...m, requestId: 'retry' }], { buyerLimit: 6 })).map(decided);
    expect(a).toMatchObject({ status: 'confirmed', duplicate: false });
    expect(b).toMatchObject({ status: 'confirmed', duplicate: true, purchaseId: m.purchaseId });
    const figures = await purchaseFigures(sql, event);
    expect(figures.rows).toBe(1);
    expect(figures.sold).toBe(2);
  });

  it('when a buyer goes past the limit, counting Postgres and earlier purchases of the batch, then the excess is rejected limit_exceeded', async () => {
    const event = await createTestEvent(sql, [100, 100]);
    const buyerId = 'limit-buyer';
    await decidePurchases(sql, [purchaseMessage(event, { buyerId, quantity: 2 })], { buyerLimit: 4 });
    const batch = [
      purchaseMessage(event, { buyerId, quantity: 1 }, 1),
      purchaseMessage(event, { buyerId, quantity: 2 }),
      purchaseMessage(event, { buyerId, quantity: 1 }),
      purchaseMessage(event, { buyerId: 'someone-else', quantity: 4 }),
    ];
    const out = (await decidePurchases(sql, batch, { buyerLimit: 4 })).map(decided);
    expect(out.map((d) => d.reason)).toEqual([null, 'limit_exceeded', null, null]);
    const [row] = await sql<{ quantity: number }[]>`
      select sum(quantity)::int as quantity from purchases where event_id = ${event.id} and buyer_id = ${buyerId} and status = 'confirmed'`;
    expect(row!.quantity).toBe(4);
  });

  it('when one buyer buys two tiers in concurrent batches, then the limit still holds across them', async () => {
    const event = await createTestEvent(sql, [100, 100]);
    const buyerId = 'racing-buyer';
    const batches = Array.from({ length: 10 }, (_, i) => [purchaseMessage(event, { buyerId, quantity: 1 }, i % 2)]);
    await Promise.all(batches.map((b) => decidePurchases(sql, b, { buyerLimit: 3 })));
    const figures = await purchaseFigures(sql, event);
    expect(figures.confirmedQuantity).toBe(3);
    expect(figures.count('rejected', 'limit_exceeded')).toBe(7);
  });

  it('when every payment fails, then every purchase is rejected payment_failed and the stock is untouched', async () => {
    const event = await createTestEvent(sql, [5]);
    const payment = simulatedPayment({ PAYMENT_LATENCY_MS: 1, PAYMENT_FAILURE_RATE: 1 });
    const out = (
      await decidePurchases(
        sql,
        Array.from({ length: 4 }, () => purchaseMessage(event)),
        { buyerLimit: 6, payment },
      )
    ).map(decided);
    expect(out.every((d) => d.status === 'rejected' && d.reason === 'payment_failed')).toBe(true);
    const figures = await purchaseFigures(sql, event);
    expect(figures.sold).toBe(0);
    expect(figures.count('rejected', 'payment_failed')).toBe(4);
  });

  it('when an early buyer fails to pay, then the ticket goes to the next buyer of the batch, charged once each', async () => {
    const event = await createTestEvent(sql, [2]);
    const [a, b, c, d] = Array.from({ length: 4 }, () => purchaseMessage(event));
    const charged: string[] = [];
    const payment = async (m: { idempotencyKey: string }) => {
      charged.push(m.idempotencyKey);
      return m.idempotencyKey !== a!.idempotencyKey;
    };
    const out = (await decidePurchases(sql, [a!, b!, c!, d!], { buyerLimit: 6, payment })).map(decided);
    expect(out.map((x) => x.reason)).toEqual(['payment_failed', null, null, 'sold_out']);
    expect(charged.sort()).toEqual([a!, b!, c!].map((m) => m.idempotencyKey).sort());
    expect((await purchaseFigures(sql, event)).sold).toBe(2);
  });

  it('when a tier is unknown or belongs to another event, then that message is poison, nothing is written for it, and the rest is decided', async () => {
    const event = await createTestEvent(sql, [10]);
    const other = await createTestEvent(sql, [10]);
    const good = purchaseMessage(event);
    const unknown = purchaseMessage(event, { tierId: '00000000-0000-4000-8000-00000000dead' });
    const foreign = purchaseMessage(event, { tierId: other.tiers[0]!.id });
    const out = await decidePurchases(sql, [unknown, good, foreign], { buyerLimit: 6 });
    expect(out.map((d) => d.kind)).toEqual(['poison', 'decided', 'poison']);
    expect(out[0]).toMatchObject({ reason: 'unknown_tier' });
    const [row] = await sql<{ count: number }[]>`
      select count(*)::int as count from purchases where idempotency_key in ${sql([unknown.idempotencyKey, foreign.idempotencyKey])}`;
    expect(row!.count).toBe(0);
    expect((await purchaseFigures(sql, event)).sold).toBe(1);
    expect((await purchaseFigures(sql, other)).sold).toBe(0);
  });

  it('when purchases were accepted before the sale opened or after its close, then they are rejected sale_not_open and take no stock', async () => {
    const opens = new Date(Date.now() - 60_000);
    const closes = new Date(Date.now() - 10_000);
    const event = await createTestEvent(sql, [10], { saleOpensAt: opens, saleClosesAt: closes });
    const at = (ms: number) => ({ acceptedAt: new Date(ms).toISOString() });
    const early = purchaseMessage(event, at(opens.getTime() - 1));
    const first = purchaseMessage(event, at(opens.getTime()));
    const last = purchaseMessage(event, at(closes.getTime() - 1));
    const late = purchaseMessage(event, at(closes.getTime()));
    const out = (await decidePurchases(sql, [early, first, last, late], { buyerLimit: 6 })).map(decided);
    expect(out.map((d) => d.reason)).toEqual(['sale_not_open', null, null, 'sale_not_open']);
    const figures = await purchaseFigures(sql, event);
    expect(figures.sold).toBe(2);
    expect(figures.count('rejected', 'sale_not_open')).toBe(2);
  });

  it('when the sale is closed while a batch that read it open is deciding, then the close waits and is stamped after that commit', async () => {
    const event = await createTestEvent(sql, [10]);
    let closed: Promise<unknown> | undefined;
    const [d] = await decidePurchases(sql, [purchaseMessage(event)], {
      buyerLimit: 6,
      // Runs inside the batch's transaction, after the window was read under the event's lock.
      payment: async () => {
        closed = setSaleOpen(sql, event.id, false);
        await new Promise((r) => setTimeout(r, 300));
        return true;
      },
    });
    await closed;
    expect(decided(d!)).toMatchObject({ status: 'confirmed' });
    const [row] = await sql<{ closes: Date; decided: Date }[]>`
      select e.sale_closes_at as closes, p.decided_at as decided
      from events e join purchases p on p.event_id = e.id where e.id = ${event.id}`;
    // decided_at is the batch's transaction time; the close came 300 ms later at least.
    expect(row!.closes.getTime() - row!.decided.getTime()).toBeGreaterThanOrEqual(250);
    const after = (await decidePurchases(sql, [purchaseMessage(event)], { buyerLimit: 6 })).map(decided);
    expect(after[0]).toMatchObject({ status: 'rejected', reason: 'sale_not_open' });
  });

  it('when anything tries to sell past capacity, then Postgres refuses it (the CHECK is the last line)', async () => {
    const event = await createTestEvent(sql, [3]);
    await expect(sql`update tiers set sold = 4 where id = ${event.tiers[0]!.id}`).rejects.toMatchObject({
      code: '23514',
    });
  });

  it('when anything writes a purchase whose tier belongs to another event, then Postgres refuses it (one foreign key on tier and event)', async () => {
    const event = await createTestEvent(sql, [3]);
    const other = await createTestEvent(sql, [3]);
    const key = `fk-${randomUUID()}`;
    await expect(sql`
      insert into purchases (id, idempotency_key, event_id, tier_id, buyer_id, quantity, status)
      values (${randomUUID()}, ${key}, ${event.id}, ${other.tiers[0]!.id}, 'buyer-fk', 1, 'confirmed')`).rejects.toMatchObject(
      { code: '23503' },
    );
    expect(await sql`select 1 from purchases where idempotency_key = ${key}`).toHaveLength(0);
  });
});
