import {
  type CachedAvailability,
  cachedNow,
  readCachedAvailability,
  writeCachedAvailability,
} from '@stampede/core/cache';
import { AppError } from '@stampede/core/errors';
import type { Availability } from '@stampede/core/events';
import type { Logger } from '@stampede/core/logger';
import type { ApiMetrics } from '@stampede/core/metrics';
import { type Redis, type RedisKeys, redisIsReady } from '@stampede/core/redis';
import { createBoundedMap, createExpiringSet } from './bounded-map.js';
import { createSingleFlight } from './single-flight.js';

/** Where an answer came from, as the X-Cache header says it. */
export type CacheSource = 'hit' | 'miss' | 'bypass' | 'stale';

export interface AvailabilityResult {
  value: Availability;
  source: CacheSource;
  /** Which cache a hit came from: this replica's memory (L1) or Redis (L2). */
  level?: 'l1' | 'l2';
}

export interface AvailabilityServiceDeps {
  redis: Redis;
  keys: RedisKeys;
  /** Reads availability from Postgres; undefined when there is no such event. */
  load: (eventId: string) => Promise<Availability | undefined>;
  ttlMs: number;
  staleTtlMs: number;
  softTimeoutMs: number;
  /** Fresh life of an answer in this replica's memory (L1); 0 turns the L1 off. Never longer than `ttlMs`. */
  l1TtlMs?: number;
  /**
   * Events whose last known answer is kept in memory: the L1, and the fail-safe value for
   * when Redis and Postgres are both away. Least recently used evicted first.
   */
  l1MaxEntries?: number;
  /** How long "no such event" is remembered (0: not at all), so a repeated unknown id costs no query. */
  negativeTtlMs?: number;
  /** Unknown ids remembered, apart from the answers (a flood of them evicts none). */
  maxUnknown?: number;
  log: Logger;
  /** Counts reads by cache result, when given. */
  metrics?: Pick<ApiMetrics, 'cacheReads'>;
}

/** An answer held in memory: fresh in the L1 while younger than the L1 TTL and of the current epoch. */
interface Held {
  entry: CachedAvailability;
  storedAt: number;
  epoch: number;
}

type CacheRead = { entry?: CachedAvailability; reachable: boolean };

const TIMED_OUT = Symbol('timed out');

/**
 * Cache-aside availability reads in two levels that never fail because a cache is gone:
 * this replica's memory (L1, a few hundred ms) → Redis (L2; concurrent L1 misses share
 * one GET) → Postgres (one query per key per replica, single-flight, filling both);
 * Redis down → straight to Postgres (bypass); Postgres down or slower than the soft
 * timeout → the last known value, marked stale; neither → 503. The backplane keeps the
 * L1 in step (`apply`, `drop`, `dropAll`); without it the L1 TTL bounds its staleness.
 */
export function createAvailabilityService(deps: AvailabilityServiceDeps) {
  const flight = createSingleFlight<Availability | undefined>();
  const cacheFlight = createSingleFlight<CacheRead>();
  const l1TtlMs = Math.min(deps.l1TtlMs ?? 0, deps.ttlMs);
  const memory = createBoundedMap<Held>(deps.l1MaxEntries ?? 10_000);
  const unknown = createExpiringSet(deps.negativeTtlMs ?? 0, deps.maxUnknown ?? 10_000);
  const missing = (eventId: string) => new AppError('event_not_found', `Event ${eventId} does not exist.`);
  /** Postgres said there is no such event: remembered for the negative TTL. */
  const notFound = (eventId: string) => {
    unknown.add(eventId);
    return missing(eventId);
  };
  /** Bumped to drop the whole L1 at once; the values stay as fail-safe. */
  let epoch = 0;
  const staleWarnedAt = new Map<string, number>();

  /**
   * Holds an answer fresh in memory and returns what is held: the newer of it and what was
   * there (a Redis read that started before an announcement may land after it).
   */
  function remember(entry: CachedAvailability): CachedAvailability {
    const held = memory.peek(entry.value.eventId);
    const newest = held && held.entry.cachedAt > entry.cachedAt ? held.entry : entry;
    memory.set(entry.value.eventId, { entry: newest, storedAt: Date.now(), epoch });
    return newest;
  }

  function freshInMemory(eventId: string): CachedAvailability | undefined {
    if (l1TtlMs <= 0) return undefined;
    const held = memory.get(eventId);
    return held && held.epoch === epoch && Date.now() - held.storedAt < l1TtlMs ? held.entry : undefined;
  }

  async function readCache(eventId: string): Promise<CacheRead> {
    if (!redisIsReady(deps.redis)) return { reachable: false };
    try {
      return { entry: await readCachedAvailability(deps.redis, deps.keys, eventId), reachable: true };
    } catch (err) {
      deps.log.debug({ event: 'cache.read_failed', err: (err as Error).message }, 'cache read failed, bypassing');
      return { reachable: false };
    }
  }

  function loadFromDatabase(eventId: string): Promise<Availability | undefined> {
    return flight.run(eventId, async () => {
      const value = await deps.load(eventId);
      if (value) {
        const entry = cachedNow(value);
        remember(entry);
        if (redisIsReady(deps.redis)) {
          writeCachedAvailability(deps.redis, deps.keys, entry, deps.staleTtlMs).catch((err: Error) =>
            deps.log.debug({ event: 'cache.write_failed', err: err.message }, 'cache write failed'),
          );
        }
      }
      return value;
    });
  }

  return {
    /** Availability of an event, with where it came from. Throws event_not_found or data_unavailable. */
    async get(eventId: string): Promise<AvailabilityResult> {
      const result = await read(eventId);
      deps.metrics?.cacheReads.inc({ result: result.source, level: result.level ?? '' });
      return result;
    },
    /** A document announced on the backplane: held fresh in the L1, unless a newer one is held. */
    apply(entry: CachedAvailability): void {
      remember(entry);
    },
    /** An event whose figures changed without a document (or was created): nothing held of it is fresh any more. */
    drop(eventId: string): void {
      unknown.delete(eventId);
      const held = memory.peek(eventId);
      if (held) held.storedAt = 0;
    },
    /** Messages may have been missed: nothing in the L1 is fresh any more (the values stay as fail-safe). */
    dropAll(): void {
      unknown.clear();
      epoch += 1;
    },
  };

  async function read(eventId: string): Promise<AvailabilityResult> {
    const inMemory = freshInMemory(eventId);
    if (inMemory) return { value: inMemory.value, source: 'hit', level: 'l1' };
    if (unknown.has(eventId)) throw missing(eventId);
    const { entry, reachable } = await cacheFlight.run(eventId, () => readCache(eventId));
    if (entry && Date.now() - entry.cachedAt < deps.ttlMs)
      return { value: remember(entry).value, source: 'hit', level: 'l2' };
    const fallback = entry ?? memory.peek(eventId)?.entry;
    const fresh: CacheSource = reachable ? 'miss' : 'bypass';
    const loading = loadFromDatabase(eventId);
    if (fallback) {
      const outcome = await Promise.race([
        loading.catch((err: unknown) => ({ failed: err })),
        new Promise<typeof TIMED_OUT>((resolve) => setTimeout(resolve, deps.softTimeoutMs, TIMED_OUT).unref()),
      ]);
      if (outcome !== TIMED_OUT && outcome !== undefined && !('failed' in outcome))
        return { value: outcome, source: fresh };
      if (outcome === undefined) throw notFound(eventId);
      if (Date.now() - (staleWarnedAt.get(eventId) ?? 0) > 1_000) {
        staleWarnedAt.set(eventId, Date.now()); // one warning a second per event, not one per read
        deps.log.warn(
          { event: 'cache.stale_served', eventId, reason: outcome === TIMED_OUT ? 'soft_timeout' : 'database_error' },
          'serving last known availability',
        );
      }
      return { value: fallback.value, source: 'stale' };
    }
    let value: Availability | undefined;
    try {
      value = await loading;
    } catch (err) {
      throw new AppError('data_unavailable', 'Availability cannot be read now and no earlier value is known.', {
        cause: err,
        headers: { 'Retry-After': '1' },
      });
    }
    if (!value) throw notFound(eventId);
    return { value, source: fresh };
  }
}

export type AvailabilityService = ReturnType<typeof createAvailabilityService>;
