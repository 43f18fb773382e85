import { describe, expect, it } from 'vitest';
import { dbOutage, dbSlow } from '../../src/chaos/service-scenarios.js';
import { is, readLatency, tally } from '../../src/chaos/verdict.js';
import { expectEveryAcceptedDecidedOnce, expectPass, runQuick, useScenarioLab } from './use-scenario-lab.js';

/** Postgres is a cluster of the lab's own here (initdb in a temp dir), so it can really be stopped. */
describe('resilience: Postgres stopped and slow', () => {
  const t = useScenarioLab({ services: ['postgres'] });

  it('when Postgres is stopped under load, then availability is the last known value marked stale, purchases are still queued, and the worker decides the backlog after with nothing dead-lettered', async () => {
    const result = await runQuick(dbOutage, t.lab.target);
    expectPass(result);
    expect(tally(result, 'reads', 'fault', is('200 stale'))).toBeGreaterThan(0);
    expect(tally(result, 'reads', 'fault', (l) => !l.startsWith('200'))).toBe(0);
    expect(tally(result, 'purchases', 'fault', is('202'))).toBeGreaterThan(0);
    expect(result.report.deadLettered).toBe(0);
    await expectEveryAcceptedDecidedOnce(t.sql, result);
    // Purchases accepted while Postgres was down were decided once it came back.
    const [late] = await t.sql<
      { n: number }[]
    >`select count(*)::int as n from purchases where event_id = ${result.eventId} and decided_at > accepted_at + interval '1 second'`;
    expect(late!.n).toBeGreaterThan(0);
  }, 120_000);

  it('when every Postgres query is 2 s slower, then reads are answered from the cache within the soft timeout and purchases are unaffected', async () => {
    const result = await runQuick(dbSlow(2_000), t.lab.target);
    expectPass(result);
    // Generous bound: the soft timeout is 300 ms; waiting for the database would take over 2 s.
    expect(readLatency(result, 'fault', 0.95)).toBeLessThan(2_000);
    expect(tally(result, 'reads', 'fault', is('200 stale'))).toBeGreaterThan(0);
    expect(result.failures).toEqual([]);
    await expectEveryAcceptedDecidedOnce(t.sql, result);
  }, 120_000);
});
