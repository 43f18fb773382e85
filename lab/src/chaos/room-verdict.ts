import type { CrowdBuyer } from './room-crowd.js';

/** Where Redis says each buyer stands once the crowd has stopped (after the restart: what it rebuilt). */
export interface RoomEnd {
  /** jti → release time (ms) of an unexpired pass, claimed or not. */
  admitted: Map<string, number>;
  /** jti → released | skipped. */
  out: Map<string, string>;
  /** jtis still in line. */
  line: Set<string>;
}

export interface RoomTimes {
  /** Redis killed (every release after it is one of the Redis started again); the crowd stopped. */
  killAtMs: number;
  stoppedAtMs: number;
  releasePerMinute: number;
  /**
   * Releases this close to the kill or to the stop may not have been claimed (the buyer
   * polls only every so often): released in a Redis that is then lost, they are released
   * again later. Windows end this much earlier.
   */
  unclaimedMs: number;
}

/** The figures of the room's verdict (numbers: they go into the run's facts). */
export interface RoomFigures {
  roomJoined: number;
  roomJoinedBeforeFault: number;
  roomReleased: number;
  /** Buyers given passes of two different release times. */
  roomAdmittedTwice: number;
  /** Buyers who joined before the fault and were sent away (410) or marked skipped. */
  roomSkipped: number;
  /** Buyers who joined before the fault that neither released nor still in line (nowhere). */
  roomLost: number;
  /** Buyers still waiting behind whom somebody was released (out of order). */
  roomJumped: number;
  /** Releases per minute over the run, outside the restart window. */
  roomRatePerMinute: number;
  roomRateWindowS: number;
  /** From `unclaimedMs` before the kill to the first release after the restart. */
  roomRestartWindowS: number;
  /** The most releases in any one second after the restart. */
  roomMaxPerSecondAfter: number;
}

/**
 * What a waiting room must show after Redis was killed and restarted under a crowd: each
 * buyer released at most once, nobody who arrived before the fault skipped or lost, the
 * released a prefix of the line (in order of the signed places), and the release rate of
 * the setting outside the restart window.
 */
export function judgeRoom(buyers: CrowdBuyer[], end: RoomEnd, t: RoomTimes): RoomFigures {
  const before = buyers.filter((b) => b.joinedAtMs < t.killAtMs);
  const releasedAt = (b: CrowdBuyer) => b.releasedAtMs[0] ?? end.admitted.get(b.jti);
  const isReleased = (b: CrowdBuyer) => releasedAt(b) !== undefined || end.out.get(b.jti) === 'released';
  const released = buyers.filter(isReleased);
  const lastReleasedPlace = Math.max(-Infinity, ...released.map((b) => b.place));
  const times = buyers
    .map(releasedAt)
    .filter((x): x is number => x !== undefined)
    .sort((a, b) => a - b);
  const firstAfter = times.find((x) => x >= t.killAtMs) ?? t.stoppedAtMs;
  const first = times[0] ?? t.killAtMs;
  const windows = (
    [
      [first, t.killAtMs - t.unclaimedMs],
      [firstAfter, t.stoppedAtMs - t.unclaimedMs],
    ] as [number, number][]
  ).filter(([a, b]) => b > a);
  const inWindows = times.filter((x) => windows.some(([a, b]) => x >= a && x < b)).length;
  const windowMs = windows.reduce((s, [a, b]) => s + (b - a), 0);
  let maxPerSecond = 0;
  const after = times.filter((x) => x >= firstAfter);
  for (let i = 0, j = 0; i < after.length; i++) {
    while (after[i]! - after[j]! >= 1_000) j++;
    maxPerSecond = Math.max(maxPerSecond, i - j + 1);
  }
  return {
    roomJoined: buyers.length,
    roomJoinedBeforeFault: before.length,
    roomReleased: released.length,
    roomAdmittedTwice: buyers.filter((b) => new Set(b.releasedAtMs).size > 1).length,
    roomSkipped: before.filter((b) => b.left !== undefined || end.out.get(b.jti) === 'skipped').length,
    roomLost: before.filter((b) => !isReleased(b) && b.left === undefined && !end.line.has(b.jti)).length,
    roomJumped: buyers.filter((b) => !isReleased(b) && b.left === undefined && b.place < lastReleasedPlace).length,
    roomRatePerMinute: windowMs > 0 ? Math.round((inWindows * 60_000 * 10) / windowMs) / 10 : 0,
    roomRateWindowS: Math.round(windowMs / 100) / 10,
    roomRestartWindowS: Math.round((firstAfter - (t.killAtMs - t.unclaimedMs)) / 100) / 10,
    roomMaxPerSecondAfter: maxPerSecond,
  };
}
