import { randomUUID } from 'node:crypto';
import { createGate } from '@stampede/core/gate';
import { placePurchase } from '@stampede/core/purchases';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { reconcile } from '../src/reconcile/reconcile.js';
import type { DrainProgress } from '../src/reconcile/wait-for-drain.js';
import { drainMessages } from '../testing/broker.js';
import { createTestEvent, testSql } from '../testing/fixtures.js';
import { freePort } from '../testing/processes.js';
import { deadLetter, insertPurchase, newKey, openLab, queuePurchase, type ReconcileLab } from './reconcile-support.js';

const sql = testSql();
afterAll(() => sql.end({ timeout: 1 }));

describe('reconciliation against Postgres, Redis and RabbitMQ', () => {
  let lab: ReconcileLab;
  beforeEach(async () => {
    lab = await openLab(sql);
  });
  afterEach(() => lab.close());

  it('when every purchase is decided and the gate offers what is left, then every figure is 0 and the verdict passes', async () => {
    const event = await createTestEvent(sql, [10, 5]);
    const ids = [
      await insertPurchase(sql, event, 0, { quantity: 2 }),
      await insertPurchase(sql, event, 0, { quantity: 1 }),
      await insertPurchase(sql, event, 1, { status: 'rejected', reason: 'sold_out' }),
    ];
    await createGate(lab.redis, lab.keys).prime(event.tiers[0]!, 7);
    await createGate(lab.redis, lab.keys).prime(event.tiers[1]!, 5);

    const report = await lab.run({ eventId: event.id, acceptedIds: ids, waitForDrainMs: 2_000 });

    expect(report).toMatchObject({
      oversold: 0,
      soldMismatch: 0,
      lost: 0,
      duplicated: 0,
      undersold: 0,
      deadLettered: 0,
      queued: 0,
      drained: true,
    });
    expect(report).toMatchObject({
      accepted: 3,
      confirmed: 2,
      rejected: 1,
      rejectedByReason: { sold_out: 1 },
      outcomesOf: 'accepted ids',
    });
    expect(report.verdict).toEqual({ pass: true, failures: [] });
  });

  it('when an accepted id has no row and the queue is empty, then it is lost once the wait ends and the verdict fails', async () => {
    const event = await createTestEvent(sql, [10]);
    const decided = await insertPurchase(sql, event, 0);
    const missing = randomUUID();

    const report = await lab.run({
      eventId: event.id,
      acceptedIds: [decided, missing],
      waitForDrainMs: 300,
      pollIntervalMs: 50,
    });

    expect(report.lost).toBe(1);
    expect(report.lostIds).toEqual([missing]);
    expect(report.waitedMs).toBeGreaterThanOrEqual(300);
    expect(report.verdict).toEqual({ pass: false, failures: ['lost=1'] });
  });

  it('when no accepted ids are given, then lost is not measured rather than 0', async () => {
    const event = await createTestEvent(sql, [10]);
    const report = await lab.run({ eventId: event.id });
    expect(report.lost).toBeNull();
    expect(report.notMeasured.lost).toBe('no accepted-ids file');
    expect(report.accepted).toBeNull();
    expect(report.verdict.pass).toBe(true);
  });

  it('when tiers.sold differs from the confirmed rows, then soldMismatch counts the tickets; confirmed beyond capacity is oversold', async () => {
    const event = await createTestEvent(sql, [10, 2]);
    await insertPurchase(sql, event, 0, { quantity: 3 });
    await sql`update tiers set sold = sold + 2 where id = ${event.tiers[0]!.id}`; // a decrement done twice
    await insertPurchase(sql, event, 1, { quantity: 3, moveSold: false }); // 3 confirmed on a tier of 2, counter never moved

    const report = await lab.run({ eventId: event.id });

    expect(report.oversold).toBe(1);
    expect(report.soldMismatch).toBe(2 + 3);
    expect(report.tiers.find((t) => t.tierId === event.tiers[1]!.id)).toMatchObject({
      confirmed: 3,
      sold: 0,
      oversold: 1,
      soldMismatch: 3,
    });
    expect(report.verdict.failures).toEqual(['oversold=1', 'soldMismatch=5']);
  });

  it('when the gate offers less than capacity − sold with nothing held and the queue empty, then undersold is the gap', async () => {
    const event = await createTestEvent(sql, [10, 8, 4]);
    await insertPurchase(sql, event, 0, { quantity: 2 });
    await createGate(lab.redis, lab.keys).prime(event.tiers[0]!, 5); // 8 left, 5 offered: 3 stuck
    await createGate(lab.redis, lab.keys).prime(event.tiers[1]!, 5); // 8 left, 5 offered + 2 held: 1 stuck
    await lab.redis.hset(
      lab.keys.held(event.tiers[1]!.eventId, event.tiers[1]!.id),
      randomUUID(),
      `2|${Date.now()}|${lab.keys.buyer(event.id, 'b')}`,
    );
    // tier 3 has no stock key: the gate is not primed yet, nothing is stuck

    const report = await lab.run({ eventId: event.id });

    expect(report.tiers.map((t) => t.undersold)).toEqual([3, 1, 0]);
    expect(report.undersold).toBe(4);
    expect(report.verdict.failures).toEqual(['undersold=4']);
  });

  it('when Redis cannot be reached, then undersold is reported as not measured', async () => {
    const event = await createTestEvent(sql, [10]);
    const deadRedis = new Redis({
      port: await freePort(),
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    deadRedis.on('error', () => {});
    try {
      const report = await reconcile({ sql, redis: deadRedis, keys: lab.keys }, { eventId: event.id });
      expect(report.undersold).toBeNull();
      expect(report.notMeasured.undersold).toMatch(/^Redis unreachable/);
      expect(report.notMeasured.queued).toBe('no broker given');
    } finally {
      deadRedis.disconnect();
    }
  });

  it('when a message sits in the dead-letter queue, then it is counted apart and does not fail the verdict', async () => {
    const event = await createTestEvent(sql, [10]);
    await deadLetter(lab);
    const report = await lab.run({ eventId: event.id });
    expect(report.deadLettered).toBe(1);
    expect(report.verdict.pass).toBe(true);
  });

  it('when a row has an id not derived from its idempotency key, then it counts as duplicated', async () => {
    const event = await createTestEvent(sql, [10]);
    await insertPurchase(sql, event, 0, { id: randomUUID() });
    const report = await lab.run({ eventId: event.id });
    expect(report.duplicates).toEqual({ sameKey: 0, sameId: 0, idMismatch: 1 });
    expect(report.duplicated).toBe(1);
  });
});

describe('reconciliation waits for the queue to drain', () => {
  let lab: ReconcileLab;
  beforeEach(async () => {
    lab = await openLab(sql);
  });
  afterEach(() => lab.close());

  it('when an accepted purchase is still queued, then the command waits and it is not lost once the worker decides it', async () => {
    const event = await createTestEvent(sql, [10]);
    const key = newKey();
    const id = placePurchase(key, event.id, 1).purchaseId;
    await queuePurchase(lab, event, id);
    const seen: DrainProgress[] = [];
    let sawQueued!: () => void;
    const queuedSeen = new Promise<void>((r) => {
      sawQueued = r;
    });

    const running = lab.run({
      eventId: event.id,
      acceptedIds: [id],
      waitForDrainMs: 20_000,
      pollIntervalMs: 50,
      onProgress: (p) => {
        seen.push(p);
        if (p.queued === 1) sawQueued();
      },
    });
    await queuedSeen;
    // Play the worker: take the message, decide the purchase.
    expect(await drainMessages(lab.config.AMQP_PREFIX)).toHaveLength(1);
    await insertPurchase(sql, event, 0, { key });
    const report = await running;

    expect(seen[0]).toMatchObject({ queued: 1, notFinal: 1 });
    expect(report).toMatchObject({ lost: 0, queued: 0, drained: true, confirmed: 1 });
    expect(report.waitedMs).toBeLessThan(20_000);
    expect(report.verdict.pass).toBe(true);
  });

  it('when the queue does not drain within the wait, then it reports what is queued and fails as not drained', async () => {
    const event = await createTestEvent(sql, [10]);
    const id = randomUUID();
    await queuePurchase(lab, event, id);

    const report = await lab.run({ eventId: event.id, acceptedIds: [id], waitForDrainMs: 400, pollIntervalMs: 50 });

    expect(report).toMatchObject({ queued: 1, drained: false, undersold: null });
    expect(report.notMeasured.undersold).toBe('queue not drained');
    expect(report.waitedMs).toBeGreaterThanOrEqual(400);
    expect(report.verdict.failures).toContain('not drained (queued=1)');
  });
});
