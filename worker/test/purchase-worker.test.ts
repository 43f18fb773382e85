import { readCachedAvailability } from '@stampede/core/cache';
import { decisionsOfLine } from '@stampede/core/decision-log';
import { createTestEvent, purchaseFigures, purchaseMessage, testSql, waitFor } from '@stampede/lab/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { admitThroughGate, useWorkerTestbeds, type WorkerProcess } from './worker-fixture.js';

const sql = testSql();
const testbed = useWorkerTestbeds();
afterAll(() => sql.end({ timeout: 1 }));

const rowsOf = async (eventId: string) =>
  (await sql<{ n: number }[]>`select count(*)::int as n from purchases where event_id = ${eventId}`)[0]!.n;

describe('the purchase worker, as a real process', () => {
  it('when a backlog larger than capacity is queued, then every purchase is decided exactly once, readers see it, and SIGTERM exits cleanly', async () => {
    const { broker, redis, keys, gate, start } = await testbed();
    const event = await createTestEvent(sql, [4_000]);
    const messages = Array.from({ length: 5_000 }, () => purchaseMessage(event));
    await broker.publish(messages);

    const worker: WorkerProcess = await start();
    await waitFor(async () => (await rowsOf(event.id)) === messages.length, {
      timeoutMs: 60_000,
      what: 'all purchases decided',
    });

    const figures = await purchaseFigures(sql, event);
    expect(figures.rows).toBe(5_000);
    expect(figures.sold).toBe(4_000);
    expect(figures.count('rejected', 'sold_out')).toBe(1_000);
    const last = messages[messages.length - 1]!;
    // The gate is settled after the commit that made the rows: wait for the record too.
    const lastRecord = await waitFor(
      async () => {
        const record = await gate.record(last.purchaseId);
        return record?.status === 'queued' ? undefined : record;
      },
      { timeoutMs: 10_000, what: 'the last purchase settled in the gate' },
    );
    expect(lastRecord).toMatchObject({ status: expect.stringMatching(/confirmed|rejected/) });
    // The cache is refreshed after the settle.
    await waitFor(async () => (await readCachedAvailability(redis, keys, event.id))?.value.tiers[0]?.remaining === 0, {
      timeoutMs: 10_000,
      what: 'the cached availability refreshed',
    });
    // Each purchase's decision is on its batch's line, written after the commit that made the rows: wait for them too.
    const batchLines = () => worker.logs.filter((l) => l.event === 'batch.committed');
    const decidedOf = () => batchLines().flatMap((l) => decisionsOfLine(l));
    await waitFor(async () => decidedOf().length >= 5_000 || undefined, {
      timeoutMs: 30_000,
      what: 'every decision logged',
    });
    const decided = new Map(decidedOf().map((d) => [d.purchaseId, d]));
    expect(decided.size).toBe(5_000);
    // Every purchase is named once, with its request id; the decisions are what Postgres holds.
    const unnamed = messages.filter((m) => decided.get(m.purchaseId)?.requestId !== m.requestId);
    expect(unnamed).toEqual([]);
    const said = (status: string, reason?: string) =>
      [...decided.values()].filter((d) => d.status === status && d.reason === reason && !d.duplicate).length;
    expect([said('confirmed'), said('rejected', 'sold_out')]).toEqual([4_000, 1_000]);
    const sum = (k: string) => batchLines().reduce((n, l) => n + Number(l[k] ?? 0), 0);
    expect([sum('size'), sum('confirmed'), sum('rejected'), sum('duplicates')]).toEqual([5_000, 4_000, 1_000, 0]);

    // Drain rate: from the start of the first batch to the end of the last, by the worker's own clock.
    const batches = worker.logs.filter((l) => l.event === 'batch.committed');
    const first = Date.parse(batches[0]!.time) - Number(batches[0]!.ms);
    const end = Date.parse(batches[batches.length - 1]!.time);
    const sizes = batches.map((b) => Number(b.size));
    process.stdout.write(
      `\n[drain] ${messages.length} purchases in ${end - first} ms = ${Math.round(messages.length / ((end - first) / 1000))} msg/s; ` +
        `${batches.length} batches, mean size ${Math.round(messages.length / batches.length)}, max ${Math.max(...sizes)}, ` +
        `mean batch ${Math.round(batches.reduce((n, b) => n + Number(b.ms), 0) / batches.length)} ms\n`,
    );

    expect(await worker.kill('SIGTERM')).toBe(0);
    expect(worker.logs.some((l) => l.event === 'shutdown.done')).toBe(true);
  }, 120_000);

  it('when poison arrives between good purchases, then each poison lands in the DLQ with its reason and the good ones behind it are decided', async () => {
    const { broker, start } = await testbed();
    const event = await createTestEvent(sql, [10]);
    const good = [purchaseMessage(event), purchaseMessage(event), purchaseMessage(event)];
    const unknownTier = purchaseMessage(event, { tierId: '00000000-0000-4000-8000-00000000dead' });
    // Claims the purchase id of good[0] under another key: Postgres refuses it every time (not transient, not known poison).
    const forged = purchaseMessage(event, { purchaseId: good[0]!.purchaseId });
    await broker.publish([
      good[0]!,
      Buffer.from('{not json'),
      { v: 1, purchaseId: 'nope' },
      unknownTier,
      forged,
      good[1]!,
      good[2]!,
    ]);

    const worker = await start({ WORKER_MAX_ATTEMPTS: 3, WORKER_RETRY_BASE_MS: 20, WORKER_RETRY_MAX_MS: 100 });
    await waitFor(async () => (await broker.depth(broker.names.deadLetterQueue)) === 4, {
      timeoutMs: 20_000,
      what: 'four dead letters',
    });

    const dead = await broker.drainDeadLetters();
    const reasons = dead.map((m) => String(m.properties.headers?.['x-death-reason'])).sort();
    expect(reasons).toEqual(['invalid_message', 'malformed_json', 'processing_failed', 'unknown_tier']);
    const byReason = new Map(dead.map((m) => [String(m.properties.headers?.['x-death-reason']), m]));
    expect(byReason.get('malformed_json')!.content.toString()).toBe('{not json');
    // An unreadable body still says which request it came from: the line, and the copy kept.
    expect(byReason.get('malformed_json')!.properties.correlationId).toBe('test-raw');
    const line = worker.logs.find((l) => l.event === 'purchase.dead_lettered' && l.reason === 'malformed_json');
    expect(line?.requestId).toBe('test-raw');
    expect(JSON.parse(byReason.get('unknown_tier')!.content.toString())).toEqual(unknownTier);
    expect(String(byReason.get('processing_failed')!.properties.headers?.['x-death-detail'])).toMatch(
      /after 3 attempts/,
    );
    expect(await rowsOf(event.id)).toBe(3);
    expect((await purchaseFigures(sql, event)).sold).toBe(3);
    expect(await broker.depth(broker.names.queue)).toBe(0);
  }, 60_000);

  it('when Postgres rejects sold_out purchases the gate admitted, then settling releases their holds and buyers but offers no ticket Postgres does not have', async () => {
    const { broker, redis, keys, gate, start } = await testbed();
    const event = await createTestEvent(sql, [3]);
    const tier = event.tiers[0]!;
    await redis.set(keys.stock(tier.eventId, tier.id), 5); // the gate believes in two tickets Postgres does not have
    const messages = Array.from({ length: 5 }, () => purchaseMessage(event, { gated: true }));
    expect(await admitThroughGate(gate, messages)).toEqual(messages.map(() => 'admitted'));
    expect(await redis.get(keys.stock(tier.eventId, tier.id))).toBe('0');
    await broker.publish(messages);

    await start({ RECONCILE_INTERVAL_MS: 600_000 });
    await waitFor(async () => (await rowsOf(event.id)) === 5, { what: 'five decisions' });
    await waitFor(async () => (await redis.hlen(keys.held(tier.eventId, tier.id))) === 0, { what: 'holds released' });

    expect(await redis.get(keys.stock(tier.eventId, tier.id))).toBe('0');
    const buyers = await Promise.all(messages.map((m) => redis.get(keys.buyer(event.id, m.buyerId))));
    expect(buyers.sort()).toEqual(['0', '0', '1', '1', '1']);
    const records = await Promise.all(messages.map((m) => gate.record(m.purchaseId)));
    expect(records.map((r) => r?.status).sort()).toEqual([
      'confirmed',
      'confirmed',
      'confirmed',
      'rejected',
      'rejected',
    ]);
    expect(records.filter((r) => r?.status === 'rejected').every((r) => r?.reason === 'sold_out')).toBe(true);
  }, 60_000);

  it('when the queue is idle and the gate is wrong or holds orphans, then reconciliation sets it to capacity − sold', async () => {
    const { broker, redis, keys, gate, start } = await testbed();
    const event = await createTestEvent(sql, [5]);
    const tier = event.tiers[0]!;
    await broker.publish([purchaseMessage(event, { quantity: 1 })]);
    await gate.prime(tier, 7); // a drifted count
    // A crash a minute ago between gate and publish: a hold no message will ever settle, and a drifted count.
    await redis.hset(
      keys.held(tier.eventId, tier.id),
      'orphan-purchase',
      `2|${Date.now() - 60_000}|${keys.buyer(event.id, 'ghost')}`,
    );

    const worker = await start({ RECONCILE_INTERVAL_MS: 200 });
    await worker.waitForLog(
      (l) => l.event === 'gate.reconciled' && l.tierId === tier.id && l.stock === 4,
      'gate.reconciled to 4',
    );
    const lines = worker.logs.filter((l) => l.event === 'gate.reconciled' && l.tierId === tier.id);
    expect(lines.reduce((n, l) => n + Number(l.released), 0)).toBe(1);
    expect(await redis.get(keys.stock(tier.eventId, tier.id))).toBe('4');
    expect(await redis.hlen(keys.held(tier.eventId, tier.id))).toBe(0);
  }, 60_000);

  it("when a tier is primed before or after the worker started, then reconciliation finds it through the gate's registry", async () => {
    const { redis, keys, gate, start } = await testbed();
    const event = await createTestEvent(sql, [5, 5]);
    const [early, late] = event.tiers as [(typeof event.tiers)[0], (typeof event.tiers)[0]];
    await gate.prime(early, 9); // a drifted count
    const worker = await start({ RECONCILE_INTERVAL_MS: 200 });
    await worker.waitForLog(
      (l) => l.event === 'gate.reconciled' && l.tierId === early.id && l.stock === 5,
      'first pass reconciled the tier primed before',
    );

    await gate.prime(late, 8); // a drifted count, primed the way the API primes
    expect(await redis.hexists(keys.gateTiers(), late.id)).toBe(1);
    await worker.waitForLog(
      (l) => l.event === 'gate.reconciled' && l.tierId === late.id && l.stock === 5,
      'a later pass reconciled the primed tier',
    );
    expect(await redis.get(keys.stock(late.eventId, late.id))).toBe('5');
  }, 60_000);
});
