import { describe, expect, it } from 'vitest';
import { measureRoomPersistence, ROOM_PERSISTENCE } from '../src/bench/room-persistence.js';
import { testConfig } from '../testing/fixtures.js';

describe('the waiting room persistence measurement', () => {
  it('when it runs, then each way of keeping the line is measured twice with arrivals answered', async () => {
    const lines: string[] = [];
    const r = await measureRoomPersistence({
      durationS: 1,
      concurrency: 4,
      say: (l) => lines.push(l),
      config: testConfig(),
    });
    expect(r.rounds.map((x) => x.persistence).sort()).toEqual([...ROOM_PERSISTENCE, ...ROOM_PERSISTENCE].sort());
    for (const round of r.rounds) expect(round.rate).toBeGreaterThan(0);
    expect(lines).toHaveLength(6);
  }, 60_000);
});
