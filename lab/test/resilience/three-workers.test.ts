import { describe, expect, it } from 'vitest';
import { workerKill, workerKillOne, workerRestart } from '../../src/chaos/process-scenarios.js';
import { labStatus } from '../../src/local-lab/status.js';
import { expectEveryAcceptedDecidedOnce, expectPass, runQuick, useScenarioLab } from './use-scenario-lab.js';

/**
 * The worker faults with three workers deciding side by side, against the shared Postgres,
 * Redis and RabbitMQ under this lab's own prefixes. One lab for the file.
 */
describe('resilience: three workers', () => {
  // Tiny batches with a simulated 100 ms payment and a small prefetch: each worker holds a share
  // of the backlog, and the drain spans many commits even with three workers.
  const t = useScenarioLab({
    services: [],
    workers: 3,
    env: { WORKER_BATCH_SIZE: '5', WORKER_PREFETCH: '10', PAYMENT_LATENCY_MS: '100' },
  });

  it('when one of three workers is SIGKILLed mid-drain, then the others take what it held and every purchase is decided exactly once: 0 lost, 0 oversold, 0 duplicated', async () => {
    const result = await runQuick(workerKillOne, t.lab.target, { faultMs: 6_000, purchasesPerSecond: 60 });
    expectPass(result);
    expect(result.facts.decidedAtKill).toBeGreaterThan(0);
    expect(result.facts.undecidedAtKill).toBeGreaterThan(0);
    expect(result.facts.decidedWhileDown).toBeGreaterThan(0);
    await expectEveryAcceptedDecidedOnce(t.sql, result);
    const workers = (await labStatus(t.lab.target.dir)).components.filter((c) => c.name.startsWith('worker'));
    expect(workers.map((w) => [w.name, w.condition])).toEqual([
      ['worker-1', 'up'],
      ['worker-2', 'up'],
      ['worker-3', 'up'],
    ]);
  }, 150_000);

  it('when all three workers are SIGKILLed mid-drain, then the backlog is redelivered and decided exactly once', async () => {
    const result = await runQuick(workerKill, t.lab.target, { faultMs: 4_000, purchasesPerSecond: 60 });
    expectPass(result);
    await expectEveryAcceptedDecidedOnce(t.sql, result);
  }, 150_000);

  it('when all three workers are stopped under load, then purchases still get 202 and queue up, and after the start the backlog drains', async () => {
    const result = await runQuick(workerRestart, t.lab.target);
    expectPass(result);
    expect(result.maxQueued.fault).toBeGreaterThan(0);
    await expectEveryAcceptedDecidedOnce(t.sql, result);
  }, 150_000);
});
