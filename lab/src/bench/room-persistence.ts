import { randomUUID } from 'node:crypto';
import { type Config, loadConfig } from '@stampede/core/config';
import { createSql } from '@stampede/core/db';
import { redisKeys } from '@stampede/core/redis';
import { createRoomTokens, createWaitingRoom } from '@stampede/core/waiting-room';
import { Redis } from 'ioredis';
import { startPrivateRedisServer } from '../servers/private-redis.js';

/**
 * How the line could be kept across a Redis restart, each measured on the arrival path
 * (the line's one write per buyer):
 * - `tokens`: what the room does — Redis without persistence, the place signed into the
 *   queue token (put back from it on the next poll), the knobs in Postgres (admin writes only);
 * - `redis-aof`: Redis keeping the line itself, append-only file fsynced on every write;
 * - `postgres`: a row per arrival in Postgres besides Redis (synchronous commit, as every
 *   Stampede write), so the line could be rebuilt from it.
 */
export const ROOM_PERSISTENCE = ['tokens', 'redis-aof', 'postgres'] as const;
export type RoomPersistence = (typeof ROOM_PERSISTENCE)[number];

export interface RoomPersistenceRound {
  persistence: RoomPersistence;
  /** Arrivals answered per second (joined in Redis, token signed, and the row written for `postgres`). */
  rate: number;
  /** Mean time of one arrival at that concurrency, µs. */
  meanUs: number;
}

export interface RoomPersistenceResult {
  rounds: RoomPersistenceRound[];
  mean: Record<RoomPersistence, number>;
  concurrency: number;
  durationS: number;
}

/** Each persistence twice, in mirrored order: a drift over the run falls on all alike. */
const ORDER: RoomPersistence[] = ['tokens', 'redis-aof', 'postgres', 'postgres', 'redis-aof', 'tokens'];

/**
 * Arrivals in a waiting room, in process (no HTTP: what differs is the line's storage), at
 * `concurrency` arrivals at once for `durationS` a round, on two private redis-servers (one
 * without persistence, one with `appendfsync always`) and the configured Postgres.
 */
export async function measureRoomPersistence(options: {
  durationS: number;
  concurrency: number;
  say: (line: string) => void;
  config?: Config;
}): Promise<RoomPersistenceResult> {
  const config = options.config ?? loadConfig(process.env);
  const plain = await startPrivateRedisServer();
  const aof = await startPrivateRedisServer(['--appendonly', 'yes', '--appendfsync', 'always']);
  const sql = createSql(config, { max: options.concurrency, applicationName: 'stampede-bench' });
  const table = `room_line_bench_${randomUUID().slice(0, 8)}`;
  const clients = [plain, aof].map((s) => new Redis(s.url, { enableAutoPipelining: true, maxRetriesPerRequest: 1 }));
  const tokens = createRoomTokens(`bench-${randomUUID()}-${randomUUID()}`);
  const keys = redisKeys(`bench:${randomUUID().slice(0, 8)}:`);
  const eventId = randomUUID();
  try {
    await sql.unsafe(
      `create table ${table} (jti uuid primary key, event_id uuid not null, place text not null, joined_at timestamptz not null default now())`,
    );
    const rooms = clients.map((r) => createWaitingRoom(r, keys, { passTtlMs: 120_000, heartbeatMs: 30_000 }));
    for (const room of rooms)
      await room.configure(eventId, { enabled: true, releasePerMinute: 600, maxInside: 0, opensAtMs: 0 });
    const arrive = async (p: RoomPersistence) => {
      const room = rooms[p === 'redis-aof' ? 1 : 0]!;
      const joined = await room.join(eventId);
      if (joined.kind !== 'joined') throw new Error('the room is off');
      await tokens.signQueueToken({ eventId, place: joined.place, jti: joined.jti, ttlS: 3_600 });
      if (p === 'postgres')
        await sql.unsafe(`insert into ${table} (jti, event_id, place) values ($1, $2, $3)`, [
          joined.jti,
          eventId,
          joined.place,
        ]);
    };
    const round = async (p: RoomPersistence, durationS: number) => {
      const until = Date.now() + durationS * 1_000;
      let done = 0;
      const started = process.hrtime.bigint();
      await Promise.all(
        Array.from({ length: options.concurrency }, async () => {
          while (Date.now() < until) {
            await arrive(p);
            done++;
          }
        }),
      );
      const elapsedS = Number(process.hrtime.bigint() - started) / 1e9;
      return { rate: Math.round(done / elapsedS), meanUs: Math.round((elapsedS * 1e6 * options.concurrency) / done) };
    };
    // Warm-up: JIT, pools, the scripts loaded on both servers.
    for (const p of ROOM_PERSISTENCE) await round(p, 1);
    const rounds: RoomPersistenceRound[] = [];
    for (const p of ORDER) {
      const r = await round(p, options.durationS);
      rounds.push({ persistence: p, ...r });
      options.say(`  ${p.padEnd(10)} ${String(r.rate).padStart(6)} arrivals/s  ${r.meanUs} µs each`);
    }
    const mean = Object.fromEntries(
      ROOM_PERSISTENCE.map((p) => {
        const rs = rounds.filter((r) => r.persistence === p);
        return [p, Math.round(rs.reduce((s, r) => s + r.rate, 0) / rs.length)];
      }),
    ) as Record<RoomPersistence, number>;
    return { rounds, mean, concurrency: options.concurrency, durationS: options.durationS };
  } finally {
    await sql.unsafe(`drop table if exists ${table}`).catch(() => undefined);
    await sql.end({ timeout: 2 });
    for (const r of clients) r.disconnect();
    await Promise.all([plain.close(), aof.close()]);
  }
}
