import { createTestEvent, purchaseFigures, purchaseMessage, testSql, waitFor } from '@stampede/lab/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { admitThroughGate, useWorkerTestbeds } from './worker-fixture.js';

const sql = testSql();
const testbed = useWorkerTestbeds();
afterAll(() => sql.end({ timeout: 1 }));

/** Two workers reconciling as often as they may, with small batches: many passes meet a batch in flight. */
const BUSY = {
  RECONCILE_INTERVAL_MS: 100,
  WORKER_BATCH_SIZE: 4,
  WORKER_BATCH_WAIT_MS: 1,
  WORKER_PREFETCH: 16,
  // no hold goes stale here: every pass is the stock correction alone
  GATE_HOLD_GRACE_MS: 60_000,
};

describe('reconciliation beside other workers', () => {
  it('when two worker processes decide concurrent batches while both reconcile, then the gate never offers more than capacity − sold − the undecided holds, and no 202 is rejected sold_out', async () => {
    const bed = await testbed();
    const { broker, redis, keys, gate } = bed;
    const capacity = 1_200;
    const event = await createTestEvent(sql, [capacity]);
    const tier = event.tiers[0]!;
    await gate.prime(tier, capacity);
    const workers = [
      await bed.start({ ...BUSY, INSTANCE_NAME: 'worker-1' }),
      await bed.start({ ...BUSY, INSTANCE_NAME: 'worker-2' }),
    ];

    /**
     * What the gate offers against what is truly left, with admissions paused: the gate's
     * stock and holds in one Redis transaction, then `sold` and which of those holds are
     * decided in one Postgres statement. A batch committing in between moves a hold from
     * "undecided" to "sold" and changes nothing; the sample cannot report a false excess.
     */
    const excess = async (): Promise<number> => {
      const [[, stock], [, held]] = (await redis
        .multi()
        .get(keys.stock(tier.eventId, tier.id))
        .hgetall(keys.held(tier.eventId, tier.id))
        .exec()) as [[null, string | null], [null, Record<string, string>]];
      const ids = Object.keys(held);
      const [row] = await sql<{ sold: number; decided: string[] }[]>`
        select (select sold from tiers where id = ${tier.id}) as sold,
               coalesce((select array_agg(id::text) from purchases where id = any(${ids}::uuid[])), '{}') as decided`;
      const decided = new Set(row!.decided);
      const undecided = ids.filter((id) => !decided.has(id)).reduce((n, id) => n + Number(held[id]!.split('|')[0]), 0);
      return Number(stock ?? 0) - (capacity - row!.sold - undecided);
    };

    // The load runs until it has done its work, not for a fixed time: every ticket admitted,
    // every hold settled, and enough samples taken; a loaded machine only makes it take longer.
    let admitted = 0;
    let samples = 0;
    const excesses: number[] = [];
    const deadline = Date.now() + 60_000;
    const done = async () =>
      admitted >= capacity && samples > 500 && (await redis.hlen(keys.held(tier.eventId, tier.id))) === 0;
    while (!(await done()) && Date.now() < deadline) {
      if (admitted < capacity) {
        const messages = [0, 1, 2].map(() => purchaseMessage(event, { gated: true }));
        const outcomes = await admitThroughGate(gate, messages);
        const accepted = messages.filter((_, i) => outcomes[i] === 'admitted');
        if (accepted.length > 0) await broker.publish(accepted);
        admitted += accepted.length;
      }
      const e = await excess();
      samples += 1;
      if (e > 0) excesses.push(e);
      if (admitted >= capacity && samples % 20 === 0) await new Promise((r) => setTimeout(r, 20));
    }

    const figures = await purchaseFigures(sql, event);
    const passes = workers.map((w) => w.logs.filter((l) => l.event === 'gate.reconciled').length);
    expect(excesses, `samples ${samples}, corrections per worker ${passes.join('/')}`).toEqual([]);
    expect(admitted, 'admitted before the deadline').toBe(capacity);
    expect(await redis.hlen(keys.held(tier.eventId, tier.id)), 'holds left undecided at the deadline').toBe(0);
    expect(figures.count('rejected', 'sold_out')).toBe(0);
    expect(figures.count('confirmed')).toBe(capacity);
    expect(figures.sold).toBe(capacity);
    // once drained, what the gate offers is capacity − sold
    await waitFor(async () => (await redis.get(keys.stock(tier.eventId, tier.id))) === '0', { what: 'stock 0' });
    expect(samples).toBeGreaterThan(500);
  }, 120_000);
});
