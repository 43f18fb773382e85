import { describe, expect, it } from 'vitest';
import type { CrowdBuyer } from '../src/chaos/room-crowd.js';
import { judgeRoom, type RoomEnd } from '../src/chaos/room-verdict.js';

const buyer = (place: number, releasedAtMs: number[] = [], more: Partial<CrowdBuyer> = {}): CrowdBuyer => ({
  jti: `b${place}`,
  place,
  joinedAtMs: place,
  releasedAtMs,
  pollErrors: 0,
  ...more,
});
const empty = (): RoomEnd => ({ admitted: new Map(), out: new Map(), line: new Set() });
const times = { killAtMs: 10_000, stoppedAtMs: 30_000, releasePerMinute: 60, unclaimedMs: 2_000 };

describe('the waiting room verdict', () => {
  it('when one buyer a second is released on both sides of the restart window, then the rate is the setting and nobody is out of order', () => {
    // Released at 1 s .. 7 s, then (after the restart) at 15 s .. 27 s; the rest still in line.
    const released = [1, 2, 3, 4, 5, 6, 7, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27];
    const buyers = released.map((s, i) => buyer(i, [s * 1_000]));
    const waiting = [buyer(100), buyer(101)];
    const end = { ...empty(), line: new Set(waiting.map((b) => b.jti)) };
    const f = judgeRoom([...buyers, ...waiting], end, times);
    expect(f).toMatchObject({ roomAdmittedTwice: 0, roomSkipped: 0, roomLost: 0, roomJumped: 0 });
    // Windows [1 s, 8 s) and [15 s, 28 s): 7 + 13 releases in 20 s.
    expect(f.roomRatePerMinute).toBe(60);
    expect(f.roomRateWindowS).toBe(20);
    expect(f.roomRestartWindowS).toBe(7);
  });

  it('when a buyer gets two passes, one is skipped, one is nowhere and one waits behind the released, then each is counted', () => {
    const f = judgeRoom(
      [
        buyer(1, [1_000, 16_000]),
        buyer(2, [], { left: 'left_waiting_room' }),
        buyer(3),
        buyer(4),
        buyer(5, [2_000]),
        buyer(6, [], { joinedAtMs: 20_000 }),
      ],
      { ...empty(), line: new Set(['b4', 'b6']) },
      times,
    );
    expect(f).toMatchObject({
      roomAdmittedTwice: 1,
      roomSkipped: 1,
      roomLost: 1,
      roomJumped: 2,
      roomJoinedBeforeFault: 5,
    });
  });

  it('when Redis holds a release the buyer has not claimed yet, then that buyer counts as released, not lost or jumped', () => {
    const f = judgeRoom([buyer(1), buyer(2, [2_000])], { ...empty(), admitted: new Map([['b1', 2_000]]) }, times);
    expect(f).toMatchObject({ roomReleased: 2, roomLost: 0, roomJumped: 0 });
  });
});
