import { randomUUID } from 'node:crypto';
import { createEvent } from '@stampede/core/events';
import { redisKeys } from '@stampede/core/redis';
import { Redis } from 'ioredis';
import { replicaKill } from './process-scenarios.js';
import { RoomCrowd } from './room-crowd.js';
import { judgeRoom, type RoomEnd } from './room-verdict.js';
import type { LabTarget } from './scenario-lab.js';
import type { Scenario, ScenarioContext, ScenarioName } from './scenario-types.js';
import { redisOutage } from './service-scenarios.js';
import { check } from './verdict.js';

/** The room's settings in a `--private` run: short enough that a heartbeat and a hold fit in a run. */
export const ROOM_LAB = { pollS: 1, heartbeatS: 4, passTtlS: 120 };

export interface RoomRun {
  /** Buyers arriving in the room per second, all run long. */
  arrivalsPerSecond: number;
  /** The release rate set on the room (no cap on buyers inside: the rate alone lets them in). */
  releasePerMinute: number;
}

async function roomEnd(target: LabTarget, eventId: string, passTtlMs: number): Promise<RoomEnd> {
  const redis = new Redis(target.config.REDIS_URL, { maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  try {
    const keys = redisKeys(target.config.REDIS_KEY_PREFIX);
    const admitted = await redis.zrange(keys.roomAdmitted(eventId), '0', '-1', 'WITHSCORES');
    const out = await redis.hgetall(keys.roomOut(eventId));
    const line = await redis.zrange(keys.roomLine(eventId), '0', '-1');
    const released = new Map<string, number>();
    for (let i = 0; i < admitted.length; i += 2)
      released.set(admitted[i]!, Math.floor(Number(admitted[i + 1])) - passTtlMs);
    return { admitted: released, out: new Map(Object.entries(out)), line: new Set(line) };
  } finally {
    redis.disconnect();
  }
}

interface RoomFault {
  name: ScenarioName;
  summary: string;
  /** The fault under the crowd; its own checks stay. */
  base: Scenario;
  /** What the fault needs of the lab, beyond the room (e.g. a redis-server of its own to kill). */
  needs?: (t: LabTarget) => string | undefined;
}

/**
 * A fault with a waiting room in front of a second event: a crowd arrives and polls all run
 * long while the room releases at its rate, and the fault lands mid-release. Besides the
 * fault's own checks, the verdict asks the room: nobody admitted twice, nobody who arrived
 * before the fault skipped or lost, the released a prefix of the line, the rate held outside
 * the fault's window, and no rush of releases after it.
 */
function roomScenario(f: RoomFault, run: RoomRun): Scenario {
  const { base } = f;
  const passTtlMs = ROOM_LAB.passTtlS * 1_000;
  const times = { killAtMs: 0 };
  let crowd: RoomCrowd | undefined;
  return {
    ...base,
    name: f.name,
    summary: f.summary,
    labEnv: {
      ...base.labEnv,
      WAITING_ROOM_SECRET: `chaos-room-${randomUUID()}`,
      WAITING_ROOM_POLL_S: String(ROOM_LAB.pollS),
      WAITING_ROOM_HEARTBEAT_S: String(ROOM_LAB.heartbeatS),
      WAITING_ROOM_PASS_TTL_S: String(ROOM_LAB.passTtlS),
    },
    how: (t) =>
      `${base.how(t)}, under a waiting room crowd of ${run.arrivalsPerSecond} arrivals/s released at ${run.releasePerMinute}/min`,
    precheck(t) {
      const missing = f.needs?.(t);
      if (missing) throw new Error(`${f.name} ${missing}`);
      if (!t.config.WAITING_ROOM_SECRET || !t.config.ADMIN_TOKEN)
        throw new Error(`${f.name} needs WAITING_ROOM_SECRET and ADMIN_TOKEN in the lab (or --private)`);
      base.precheck?.(t);
    },
    async setup(ctx: ScenarioContext) {
      const event = await createEvent(ctx.sql, {
        name: `Chaos waiting room ${new Date().toISOString()}`,
        venue: 'Chaos lab',
        startsAt: new Date(Date.now() + 7 * 86_400_000),
        saleOpensAt: new Date(Date.now() - 60_000),
        saleClosesAt: null,
        tiers: [{ name: 'General', priceCents: 5_000, capacity: 1_000_000 }],
      });
      const on = await fetch(`${ctx.target.base}/admin/events/${event.id}/waiting-room`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${ctx.target.config.ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ enabled: true, releasePerMinute: run.releasePerMinute, maxInside: 0 }),
      });
      if (on.status !== 204) throw new Error(`turning the room on answered ${on.status}: ${await on.text()}`);
      crowd = new RoomCrowd({
        base: ctx.target.base,
        eventId: event.id,
        arrivalsPerSecond: run.arrivalsPerSecond,
        pollMs: ROOM_LAB.pollS * 1_000,
        passTtlMs,
      });
      crowd.start();
      ctx.note(
        `waiting room on for event ${event.id}: ${run.releasePerMinute}/min; ${run.arrivalsPerSecond} arrivals/s polling every ${ROOM_LAB.pollS} s`,
      );
      const own = crowd;
      return async () => {
        await own.stop();
        const stoppedAtMs = Date.now();
        const f = judgeRoom(own.buyers, await roomEnd(ctx.target, event.id, passTtlMs), {
          ...times,
          stoppedAtMs,
          releasePerMinute: run.releasePerMinute,
          unclaimedMs: 2 * ROOM_LAB.pollS * 1_000,
        });
        Object.assign(ctx.facts, f, { roomSetting: run.releasePerMinute });
        const joinErrors = Object.entries(own.joinErrors).map(([k, v]) => `${k}=${v}`);
        ctx.note(
          `room: ${f.roomJoined} joined (${f.roomJoinedBeforeFault} before the fault${joinErrors.length ? `; joins refused ${joinErrors.join(' ')}` : ''}), ${f.roomReleased} released, ${f.roomRatePerMinute}/min over ${f.roomRateWindowS} s outside the fault's window (${f.roomRestartWindowS} s)`,
        );
      };
    },
    async inject(ctx) {
      times.killAtMs = Date.now();
      await base.inject(ctx);
    },
    async recover(ctx) {
      await base.recover(ctx);
      // A room put back after Redis lost it holds releases for one heartbeat: the recovery
      // (and the rate's second window) starts when buyers are let in again.
      const waitUntil = Date.now() + (ROOM_LAB.heartbeatS + 15) * 1_000;
      while (crowd && crowd.releasedSince(times.killAtMs) === 0 && Date.now() < waitUntil) await ctx.sleep(200);
      ctx.note(
        `room releasing again ${((Date.now() - times.killAtMs) / 1000).toFixed(1)} s after the fault (${crowd?.releasedSince(times.killAtMs) ?? 0} released since)`,
      );
    },
    checks(r) {
      const f = r.facts;
      const off = Math.abs((f.roomRatePerMinute ?? 0) - (f.roomSetting ?? 0)) / (f.roomSetting || 1);
      const burstCap = Math.ceil(((f.roomSetting ?? 0) / 60) * 3);
      return [
        ...base.checks(r),
        check((f.roomJoinedBeforeFault ?? 0) > 0, `buyers in the room before the fault: ${f.roomJoinedBeforeFault}`),
        check((f.roomReleased ?? 0) > 0, `buyers released: ${f.roomReleased}`),
        check(f.roomAdmittedTwice === 0, `nobody admitted twice (${f.roomAdmittedTwice} given two passes)`),
        check(
          f.roomSkipped === 0 && f.roomLost === 0,
          `nobody who arrived before the fault skipped (${f.roomSkipped}) or lost (${f.roomLost}): still in line or released`,
        ),
        check(
          f.roomJumped === 0,
          `released in order: nobody waiting behind whom someone was released (${f.roomJumped})`,
        ),
        check(
          off <= 0.1 && (f.roomRateWindowS ?? 0) > 0,
          `release rate held: ${f.roomRatePerMinute}/min against ${f.roomSetting}/min set (${(off * 100).toFixed(1)} % off, at most 10 %), over ${f.roomRateWindowS} s, the fault's window of ${f.roomRestartWindowS} s excluded`,
        ),
        check(
          (f.roomMaxPerSecondAfter ?? 0) <= burstCap,
          `no rush after the fault: at most ${f.roomMaxPerSecondAfter} released in any second (cap ${burstCap}: three seconds' worth)`,
        ),
      ];
    },
  };
}

const CROWD: RoomRun = { arrivalsPerSecond: 20, releasePerMinute: 600 };

/** redis-outage under a room's crowd: Redis (the lab's own) SIGKILLed mid-release, started again empty. */
export const waitingRoomRedisRestart = (run: RoomRun = CROWD): Scenario =>
  roomScenario(
    {
      name: 'waiting-room-redis-restart',
      summary:
        'Redis dies mid-release under a waiting room crowd and comes back empty: nobody admitted twice or skipped, the rate holds',
      base: redisOutage,
      needs: (t) => (t.services.redis ? undefined : 'kills a real redis-server: run it with --private'),
    },
    run,
  );

/** replica-kill under a room's crowd: api-2 SIGKILLed mid-release while buyers poll through nginx. */
export const waitingRoomReplicaKill = (run: RoomRun = CROWD): Scenario =>
  roomScenario(
    {
      name: 'waiting-room-replica-kill',
      summary:
        'SIGKILL api-2 mid-release under a waiting room crowd: no place lost, no rush of admissions, the rate holds',
      base: replicaKill,
    },
    run,
  );
