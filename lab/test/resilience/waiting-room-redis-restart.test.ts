import { describe, expect, it } from 'vitest';
import { waitingRoomRedisRestart } from '../../src/chaos/room-scenarios.js';
import { expectEveryAcceptedDecidedOnce, expectPass, runQuick, useScenarioLab } from './use-scenario-lab.js';

/** A lighter crowd than the command's default (20 arrivals/s, 600/min): the same checks, cheaper on CI. */
const scenario = waitingRoomRedisRestart({ arrivalsPerSecond: 10, releasePerMinute: 300 });

describe('resilience: a waiting room across a Redis restart', () => {
  const t = useScenarioLab({ services: ['redis'], env: scenario.labEnv });

  it('when redis-server is SIGKILLed mid-release under a crowd and comes back empty, then nobody is admitted twice, nobody who arrived before is skipped or lost, the released are the head of the line, and the rate holds outside the restart window', async () => {
    const result = await runQuick(scenario, t.lab.target, { warmupMs: 8_000, faultMs: 3_000, recoveryMs: 8_000 });
    expectPass(result);
    const f = result.facts;
    expect(f.roomJoinedBeforeFault).toBeGreaterThan(40);
    // Releases on both sides of the fault, so the rate is measured across it.
    expect(f.roomRateWindowS).toBeGreaterThan(8);
    expect(f.roomReleased).toBeGreaterThan(40);
    expect({ twice: f.roomAdmittedTwice, skipped: f.roomSkipped, lost: f.roomLost, jumped: f.roomJumped }).toEqual({
      twice: 0,
      skipped: 0,
      lost: 0,
      jumped: 0,
    });
    expect(Math.abs(f.roomRatePerMinute! - 300) / 300).toBeLessThanOrEqual(0.1);
    await expectEveryAcceptedDecidedOnce(t.sql, result);
  }, 180_000);
});
