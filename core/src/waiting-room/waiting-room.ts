import { randomInt, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { RedisKeys } from '../redis/redis-keys.js';
import { defineRoomCommands } from './room-commands.js';

export interface RoomSettings {
  enabled: boolean;
  /** Buyers let in per minute; 0: no rate, only maxInside. */
  releasePerMinute: number;
  /** The most buyers holding an unexpired pass at once; 0: no cap, only the rate. */
  maxInside: number;
  /** Arrivals before this (the sale's opening) join the shuffled pre-queue. */
  opensAtMs: number;
  /** Release nobody before this (a room put back after Redis lost it: see room-guard.ts). */
  holdUntilMs?: number;
}

export interface RoomState {
  enabled: boolean;
  releasePerMinute: number;
  maxInside: number;
  opensAtMs: number;
  released: number;
  skipped: number;
  waiting: number;
  inside: number;
}

export type JoinOutcome =
  | { kind: 'off' }
  | { kind: 'joined'; jti: string; place: string; rank: number; opensAtMs: number };

export type PollOutcome =
  | { kind: 'off' }
  | { kind: 'admitted'; expiresAtMs: number }
  | { kind: 'left'; why: 'released' | 'skipped' }
  | { kind: 'waiting'; rank: number; releasePerMinute: number; maxInside: number; opensAtMs: number };

/** A uniform random place in [0, 1) with 14 digits: the pre-queue's shuffle, drawn by the server. */
const randomPlace = () => `0.${String(randomInt(0, 1e14)).padStart(14, '0')}`;

/**
 * The line of every event's waiting room, in Redis (see room-scripts.ts for its keys).
 * `passTtlMs`: how long a released buyer may buy; `heartbeatMs`: a buyer who has not
 * polled for this long when their turn comes is skipped.
 */
export function createWaitingRoom(redis: Redis, keys: RedisKeys, opts: { passTtlMs: number; heartbeatMs: number }) {
  const commands = defineRoomCommands(redis);
  const k = (eventId: string) => ({
    cfg: keys.roomConfig(eventId),
    line: keys.roomLine(eventId),
    seen: keys.roomSeen(eventId),
    admitted: keys.roomAdmitted(eventId),
    out: keys.roomOut(eventId),
  });

  return {
    /** Turns the room on or off with its knobs; the line is kept either way. */
    async configure(eventId: string, s: RoomSettings, now = Date.now()): Promise<void> {
      await redis.hset(keys.roomConfig(eventId), {
        on: s.enabled ? '1' : '0',
        since: now,
        rate: s.releasePerMinute,
        max: s.maxInside,
        opensAt: s.opensAtMs,
        ...(s.holdUntilMs === undefined ? {} : { hold: s.holdUntilMs }),
      });
    },

    /** Whether the room of this event is on (one HGET); `missing` when Redis knows no room (never had one, or lost it). */
    async onState(eventId: string): Promise<'on' | 'off' | 'missing'> {
      const on = await redis.hget(keys.roomConfig(eventId), 'on');
      return on === null ? 'missing' : on === '1' ? 'on' : 'off';
    },

    async state(eventId: string): Promise<RoomState | undefined> {
      const ks = k(eventId);
      const [cfg, waiting, inside] = await Promise.all([
        redis.hgetall(ks.cfg),
        redis.zcard(ks.line),
        redis.zcount(ks.admitted, Date.now(), '+inf'),
      ]);
      if (Object.keys(cfg).length === 0) return undefined;
      return {
        enabled: cfg.on === '1',
        releasePerMinute: Number(cfg.rate ?? 0),
        maxInside: Number(cfg.max ?? 0),
        opensAtMs: Number(cfg.opensAt ?? 0),
        released: Number(cfg.released ?? 0),
        skipped: Number(cfg.skipped ?? 0),
        waiting,
        inside,
      };
    },

    /** Puts an arriving buyer in line under a new id (the queue token's jti). */
    async join(eventId: string, now = Date.now()): Promise<JoinOutcome> {
      const ks = k(eventId);
      const jti = randomUUID();
      const r = await commands.stampedeRoomJoin(ks.cfg, ks.line, ks.seen, jti, now, randomPlace());
      if (r[0] !== 'joined') return { kind: 'off' };
      return { kind: 'joined', jti, place: String(r[1]), rank: Number(r[2]), opensAtMs: Number(r[3]) };
    },

    /**
     * A released buyer has bought with their pass: their slot under maxInside is free at
     * once, not when the pass expires (one ZREM). They stay marked released, so the token
     * is not let in again; the pass itself stays valid until it expires.
     */
    async spent(eventId: string, subject: string): Promise<void> {
      await redis.zrem(keys.roomAdmitted(eventId), subject);
    },

    /** One Redis call: a release step, the heartbeat, and where this buyer stands. */
    async poll(eventId: string, token: { jti: string; place: string }, now = Date.now()): Promise<PollOutcome> {
      const ks = k(eventId);
      const r = await commands.stampedeRoomPoll(
        ks.cfg,
        ks.line,
        ks.seen,
        ks.admitted,
        ks.out,
        token.jti,
        token.place,
        now,
        opts.passTtlMs,
        opts.heartbeatMs,
      );
      switch (r[0]) {
        case 'admitted':
          return { kind: 'admitted', expiresAtMs: Math.floor(Number(r[1])) };
        case 'left':
          return { kind: 'left', why: r[1] === 'released' ? 'released' : 'skipped' };
        case 'waiting':
          return {
            kind: 'waiting',
            rank: Number(r[1]),
            releasePerMinute: Number(r[2]),
            maxInside: Number(r[3]),
            opensAtMs: Number(r[4]),
          };
        default:
          return { kind: 'off' };
      }
    },
  };
}

export type WaitingRoom = ReturnType<typeof createWaitingRoom>;
