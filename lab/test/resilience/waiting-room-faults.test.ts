import { describe, expect, it } from 'vitest';
import { waitingRoomRedisRestart, waitingRoomReplicaKill } from '../../src/chaos/room-scenarios.js';
import type { Facts } from '../../src/chaos/scenario-types.js';
import { expectEveryAcceptedDecidedOnce, expectPass, runQuick, useScenarioLab } from './use-scenario-lab.js';

/** A lighter crowd than the command's default (20 arrivals/s, 600/min): the same checks, cheaper on CI. */
const CROWD = { arrivalsPerSecond: 10, releasePerMinute: 300 };
const scenario = waitingRoomRedisRestart(CROWD);

/** Nobody admitted twice, skipped, lost, or passed by someone behind them. */
function expectEveryPlaceKept(f: Facts): void {
  expect({ twice: f.roomAdmittedTwice, skipped: f.roomSkipped, lost: f.roomLost, jumped: f.roomJumped }).toEqual({
    twice: 0,
    skipped: 0,
    lost: 0,
    jumped: 0,
  });
}

describe('resilience: a waiting room across a Redis restart and a replica kill', () => {
  const t = useScenarioLab({ services: ['redis'], env: scenario.labEnv });

  it('when redis-server is SIGKILLed mid-release under a crowd and comes back empty, then nobody is admitted twice, nobody who arrived before is skipped or lost, the released are the head of the line, and the rate holds outside the restart window', async () => {
    const result = await runQuick(scenario, t.lab.target, { warmupMs: 8_000, faultMs: 3_000, recoveryMs: 8_000 });
    expectPass(result);
    const f = result.facts;
    expect(f.roomJoinedBeforeFault).toBeGreaterThan(40);
    // Releases on both sides of the fault, so the rate is measured across it.
    expect(f.roomRateWindowS).toBeGreaterThan(8);
    expect(f.roomReleased).toBeGreaterThan(40);
    expectEveryPlaceKept(f);
    expect(Math.abs(f.roomRatePerMinute! - 300) / 300).toBeLessThanOrEqual(0.1);
    await expectEveryAcceptedDecidedOnce(t.sql, result);
  }, 180_000);

  it('when api-2 is SIGKILLed mid-release while the crowd polls through nginx, then no place is lost, nobody is admitted twice or out of order, there is no rush of admissions, and the rate holds', async () => {
    const result = await runQuick(waitingRoomReplicaKill(CROWD), t.lab.target, {
      warmupMs: 6_000,
      faultMs: 3_000,
      recoveryMs: 6_000,
    });
    expectPass(result);
    const f = result.facts;
    expect(f.roomJoinedBeforeFault).toBeGreaterThan(30);
    expectEveryPlaceKept(f);
    // Releases went on while api-2 was dead: the fault's window is only the two polls of margin.
    expect(f.roomRestartWindowS).toBeLessThan(4);
    expect(Math.abs(f.roomRatePerMinute! - 300) / 300).toBeLessThanOrEqual(0.1);
    // No rush: at most the bucket's two seconds' worth (10) and one second's earning (5) in any second.
    expect(f.roomMaxPerSecondAfter).toBeLessThanOrEqual(15);
    await expectEveryAcceptedDecidedOnce(t.sql, result);
  }, 180_000);
});
