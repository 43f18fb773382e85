import { describe, expect, it } from 'vitest';
import { replicaKill, workerKill, workerRestart } from '../../src/chaos/process-scenarios.js';
import { tally } from '../../src/chaos/verdict.js';
import { readRunRecord } from '../../src/local-lab/lab-state.js';
import { isAlive } from '../../src/local-lab/processes.js';
import { labStatus } from '../../src/local-lab/status.js';
import {
  expectEveryAcceptedDecidedOnce,
  expectPass,
  postgresOutcome,
  runQuick,
  useScenarioLab,
} from './use-scenario-lab.js';

/**
 * Faults on the lab's own processes (worker, replicas), against the shared Postgres,
 * Redis and RabbitMQ under this lab's own prefixes. One lab for the file: each test
 * runs its scenario on an event of its own, one after the other.
 */
describe('resilience: the worker and the replicas killed and restarted', () => {
  // Small batches, each with a simulated 200 ms payment: the drain spans several commits, so a
  // kill right after the first one leaves most of the backlog undecided, even on a busy runner.
  const t = useScenarioLab({ services: [], env: { WORKER_BATCH_SIZE: '20', PAYMENT_LATENCY_MS: '200' } });

  it('when the worker is stopped under load, then purchases are still answered 202 and queue up, and after the restart the queue drains with every purchase final', async () => {
    const result = await runQuick(workerRestart, t.lab.target);
    expectPass(result);
    expect(tally(result, 'purchases', 'fault', (l) => l === '202')).toBeGreaterThan(0);
    expect(result.maxQueued.fault).toBeGreaterThan(0);
    await expectEveryAcceptedDecidedOnce(t.sql, result);
    expect((await labStatus(t.lab.target.dir)).components.find((c) => c.name === 'worker')?.condition).toBe('up');
  }, 120_000);

  it('when the worker is SIGKILLed mid-drain, then what it held is redelivered and each purchase is decided exactly once', async () => {
    const result = await runQuick(workerKill, t.lab.target, { faultMs: 4_000 });
    expectPass(result);
    // The kill fell between commits: some of the backlog decided, the rest in the dead worker's hands or queued.
    expect(result.facts.decidedAtKill).toBeGreaterThan(0);
    expect(result.facts.undecidedAtKill).toBeGreaterThan(0);
    await expectEveryAcceptedDecidedOnce(t.sql, result);
    const pg = await postgresOutcome(t.sql, result);
    expect(pg.confirmed + pg.rejected).toBe(result.report.confirmed + result.report.rejected);
  }, 120_000);

  it('when api-2 is SIGKILLed mid-load, then nginx routes around it with no failed read, only in-flight purchases may fail, and it rejoins when started', async () => {
    const before = (await readRunRecord(t.lab.target.dir, 'api-2'))!.pid!;
    const result = await runQuick(replicaKill, t.lab.target);
    expectPass(result);
    expect(isAlive(before)).toBe(false);
    expect(result.failures.filter((f) => f.kind === 'read')).toEqual([]);
    expect(result.phases.warmup?.servedBy['api-2']).toBeGreaterThan(0);
    // Rejoined: nginx routed a read to the restarted api-2.
    expect(result.facts.rejoinedAfterMs).toBeGreaterThanOrEqual(0);
    await expectEveryAcceptedDecidedOnce(t.sql, result);
  }, 120_000);
});
