import { decisionsOfLine } from '@stampede/core/decision-log';
import { decidePurchases } from '@stampede/core/purchases';
import { createTestEvent, purchaseFigures, purchaseMessage, testSql, waitFor } from '@stampede/lab/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { buildTestApp } from '../../api/test/app-fixture.js';
import { admitThroughGate, useWorkerTestbeds, type WorkerProcess } from './worker-fixture.js';

const sql = testSql();
const testbed = useWorkerTestbeds();
afterAll(() => sql.end({ timeout: 1 }));

/** The decisions the worker's reconciliation wrote down (gate.holds_settled lines). */
const settledLines = (worker: WorkerProcess) =>
  worker.logs.filter((l) => l.event === 'gate.holds_settled').flatMap((l) => decisionsOfLine(l));

/** The worker with a short grace, so a test need not wait half a minute for a hold to go stale. */
const FAST = { RECONCILE_INTERVAL_MS: 200, GATE_HOLD_GRACE_MS: 800 };

async function setup() {
  const bed = await testbed();
  const api = buildTestApp({ REDIS_KEY_PREFIX: bed.config.REDIS_KEY_PREFIX, AMQP_PREFIX: bed.config.AMQP_PREFIX });
  bed.onCleanup(() => api.close());
  const status = async (id: string) =>
    (await (await api.app.request(`/purchases/${id}`)).json()) as Record<string, unknown>;
  /** A purchase the gate admitted (hold and record) on a tier of five tickets, and nothing else. */
  const held = async (quantity: number) => {
    const event = await createTestEvent(sql, [5]);
    const tier = event.tiers[0]!;
    await bed.gate.prime(tier, 5);
    const purchase = purchaseMessage(event, { gated: true, quantity });
    expect(await admitThroughGate(bed.gate, [purchase])).toEqual(['admitted']);
    return { event, tier, purchase };
  };
  return { ...bed, status, held };
}

describe('holds the gate keeps whose message never reached the queue', () => {
  it('when a purchase was admitted by the gate but its message never reached the queue, then the idle worker publishes it again from the record and it is decided', async () => {
    const { broker, redis, keys, gate, status, held, start } = await setup();
    // A replica that crashed between the gate and the publish: hold and record, no message.
    const { event, tier, purchase: lost } = await held(2);
    expect(await status(lost.purchaseId)).toMatchObject({ status: 'queued' });
    expect(await broker.depth(broker.names.queue)).toBe(0);

    const worker = await start(FAST);
    await waitFor(async () => (await purchaseFigures(sql, event)).rows === 1, { what: 'the lost purchase decided' });
    await waitFor(async () => (await redis.hlen(keys.held(tier.eventId, tier.id))) === 0, { what: 'its hold settled' });

    const figures = await purchaseFigures(sql, event);
    expect(figures.count('confirmed')).toBe(1);
    expect(figures.sold).toBe(2);
    expect(await status(lost.purchaseId)).toMatchObject({ status: 'confirmed', reason: null, quantity: 2 });
    await worker.waitForLog((l) => l.event === 'gate.reconciled' || l.event === 'gate.stale_holds', 'a pass');
    expect(await redis.get(keys.stock(tier.eventId, tier.id))).toBe('3');
    expect(Number(await redis.get(keys.buyer(event.id, lost.buyerId)))).toBe(2);
    const republished = worker.logs.filter((l) => l.event === 'gate.hold_republished');
    expect(republished).toHaveLength(1);
    expect(republished[0]).toMatchObject({ purchaseId: lost.purchaseId, queued: true });
    expect((await gate.record(lost.purchaseId))?.republishedAt).toBeTruthy();
    expect(await broker.depth(broker.names.deadLetterQueue)).toBe(0);
  }, 60_000);

  it('when a purchase was decided but its settle never reached the gate, then it is settled from its row, not published again, and its buyer keeps the tickets counted', async () => {
    const { broker, redis, keys, gate, status, held, start } = await setup();
    const { event, tier, purchase: decided } = await held(3);
    // Committed while Redis could not be told (the settle was skipped).
    await decidePurchases(sql, [decided], { buyerLimit: 6 });
    expect(await status(decided.purchaseId)).toMatchObject({ status: 'confirmed' });

    const worker = await start(FAST);
    await waitFor(async () => (await redis.hlen(keys.held(tier.eventId, tier.id))) === 0, { what: 'the hold settled' });
    await waitFor(async () => (await gate.record(decided.purchaseId))?.status === 'confirmed', {
      what: 'the record final',
    });
    expect(worker.logs.filter((l) => l.event === 'gate.hold_republished')).toHaveLength(0);
    // The settle from the row is on the reconciliation's decision line, as an earlier decision
    // (a row keeps no request id: the API's and the first worker's lines have it).
    await waitFor(async () => settledLines(worker).length > 0, { what: 'the holds_settled line' });
    expect(settledLines(worker)).toEqual([{ purchaseId: decided.purchaseId, status: 'confirmed', duplicate: true }]);
    expect((await purchaseFigures(sql, event)).rows).toBe(1);
    expect(Number(await redis.get(keys.buyer(event.id, decided.buyerId)))).toBe(3);
    await waitFor(async () => (await redis.get(keys.stock(tier.eventId, tier.id))) === '2', { what: 'stock = 5 − 3' });
    expect(await broker.depth(broker.names.queue)).toBe(0);
  }, 60_000);

  it('when a purchase was published again a grace ago and is still undecided, then it is rejected not_processed and its tickets come back', async () => {
    const { broker, redis, keys, gate, status, held, start } = await setup();
    const { event, tier, purchase: gone } = await held(2);
    // Published again a minute ago, and that message was dead-lettered or lost too.
    await gate.markRepublished([gone.purchaseId], new Date(Date.now() - 60_000).toISOString());

    const worker = await start(FAST);
    await waitFor(async () => (await purchaseFigures(sql, event)).rows === 1, { what: 'the purchase decided' });
    await waitFor(async () => (await redis.hlen(keys.held(tier.eventId, tier.id))) === 0, {
      what: 'its hold released',
    });

    const figures = await purchaseFigures(sql, event);
    expect(figures.count('rejected', 'not_processed')).toBe(1);
    expect(figures.sold).toBe(0);
    expect(await status(gone.purchaseId)).toMatchObject({ status: 'rejected', reason: 'not_processed' });
    await waitFor(async () => (await redis.get(keys.stock(tier.eventId, tier.id))) === '5', {
      what: 'the tickets back',
    });
    expect(Number(await redis.get(keys.buyer(event.id, gone.buyerId)))).toBe(0);
    expect(worker.logs.filter((l) => l.event === 'gate.hold_republished')).toHaveLength(0);
    await waitFor(async () => settledLines(worker).length > 0, { what: 'the holds_settled line' });
    expect(settledLines(worker)).toEqual([
      {
        purchaseId: gone.purchaseId,
        requestId: gone.requestId,
        status: 'rejected',
        reason: 'not_processed',
        duplicate: false,
      },
    ]);
    expect(await broker.depth(broker.names.queue)).toBe(0);
  }, 60_000);
});
