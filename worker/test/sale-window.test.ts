import { setSaleOpen } from '@stampede/core/events';
import { createTestEvent, purchaseFigures, purchaseMessage, testSql, waitFor } from '@stampede/lab/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { buildTestApp } from '../../api/test/app-fixture.js';
import { admitThroughGate, useWorkerTestbeds } from './worker-fixture.js';

const sql = testSql();
const testbed = useWorkerTestbeds();
afterAll(() => sql.end({ timeout: 1 }));

describe('the sale window, decided by the worker from Postgres', () => {
  it('when the sale is closed in Postgres while purchases are queued, then those accepted after the close are rejected sale_not_open, those before are confirmed, and the gate gives the rejected tickets back', async () => {
    const { config, broker, redis, keys, gate, start, onCleanup } = await testbed();
    const api = buildTestApp({ REDIS_KEY_PREFIX: config.REDIS_KEY_PREFIX, AMQP_PREFIX: config.AMQP_PREFIX });
    onCleanup(() => api.close());
    const event = await createTestEvent(sql, [10]);
    const tier = event.tiers[0]!;
    await gate.prime(tier, 10);

    // Accepted while the sale was open: two queued at once, one published only after the close.
    const before = Array.from({ length: 3 }, () => purchaseMessage(event, { gated: true }));
    expect(await admitThroughGate(gate, before)).toEqual(['admitted', 'admitted', 'admitted']);
    await broker.publish(before.slice(0, 2));
    await new Promise((r) => setTimeout(r, 5));
    expect((await setSaleOpen(sql, event.id, false))?.saleClosesAt).toBeInstanceOf(Date);
    const [{ closes }] = await sql<
      { closes: Date }[]
    >`select sale_closes_at as closes from events where id = ${event.id}`;
    await new Promise((r) => setTimeout(r, 5));
    // Accepted after the close by a replica that had not heard of it yet, gated and ungated.
    const after = Array.from({ length: 2 }, () => purchaseMessage(event, { gated: true }));
    const ungated = purchaseMessage(event);
    for (const m of [...after, ungated]) expect(Date.parse(m.acceptedAt)).toBeGreaterThan(closes.getTime());
    expect(await admitThroughGate(gate, after)).toEqual(['admitted', 'admitted']);
    expect(await redis.get(keys.stock(tier.eventId, tier.id))).toBe('5');
    await broker.publish([...after, before[2]!, ungated]);

    await start({ RECONCILE_INTERVAL_MS: 600_000 });
    await waitFor(async () => (await purchaseFigures(sql, event)).rows === 6, { what: 'six decisions' });
    await waitFor(async () => (await redis.hlen(keys.held(tier.eventId, tier.id))) === 0, { what: 'holds released' });

    const figures = await purchaseFigures(sql, event);
    expect(figures.sold).toBe(3);
    expect(figures.count('confirmed')).toBe(3);
    expect(figures.count('rejected', 'sale_not_open')).toBe(3);
    const [late] = await sql<{ n: number }[]>`
      select count(*)::int as n from purchases p join events e on e.id = p.event_id
      where e.id = ${event.id} and p.status = 'confirmed' and p.accepted_at >= e.sale_closes_at`;
    expect(late!.n).toBe(0);
    // The gate: the rejected tickets are offered again, their buyers' counts given back.
    expect(await redis.get(keys.stock(tier.eventId, tier.id))).toBe('7');
    for (const m of after) expect(Number(await redis.get(keys.buyer(event.id, m.buyerId)))).toBe(0);
    for (const m of before) expect(Number(await redis.get(keys.buyer(event.id, m.buyerId)))).toBe(1);
    // What the buyer reads from the status route.
    const status = async (id: string) =>
      (await (await api.app.request(`/purchases/${id}`)).json()) as Record<string, unknown>;
    for (const m of before) expect(await status(m.purchaseId)).toMatchObject({ status: 'confirmed', reason: null });
    for (const m of [...after, ungated])
      expect(await status(m.purchaseId)).toMatchObject({ status: 'rejected', reason: 'sale_not_open' });
  }, 60_000);
});
