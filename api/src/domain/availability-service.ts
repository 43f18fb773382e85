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
import { createSingleFlight } from './single-flight.js';

/** Where an answer came from, as the X-Cache header says it. */
export type CacheSource = 'hit' | 'miss' | 'bypass' | 'stale';

export interface AvailabilityResult {
  value: Availability;
  source: CacheSource;
}

export interface AvailabilityServiceDeps {
  redis: Redis;
  keys: RedisKeys;
  /** Reads availability from Postgres; undefined when there is no such event. */
  load: (eventId: string) => Promise<Availability | undefined>;
  ttlMs: number;
  staleTtlMs: number;
  softTimeoutMs: number;
  log: Logger;
  /** Counts reads by cache result, when given. */
  metrics?: Pick<ApiMetrics, 'cacheReads'>;
  /** Last-known values kept in process, for when Redis and Postgres are both away. */
  lastKnownLimit?: number;
}

const TIMED_OUT = Symbol('timed out');

/**
 * Cache-aside availability reads that never fail because the cache is gone:
 * Redis hit → answer; miss → one Postgres query per key per replica (single-flight)
 * and fill the cache; Redis down → straight to Postgres (bypass); Postgres down or
 * slower than the soft timeout → the last known value, marked stale; neither → 503.
 */
export function createAvailabilityService(deps: AvailabilityServiceDeps) {
  const flight = createSingleFlight<Availability | undefined>();
  const lastKnown = new Map<string, CachedAvailability>();
  const limit = deps.lastKnownLimit ?? 1_000;
  const staleWarnedAt = new Map<string, number>();

  function remember(entry: CachedAvailability): void {
    lastKnown.delete(entry.value.eventId);
    lastKnown.set(entry.value.eventId, entry);
    if (lastKnown.size > limit) lastKnown.delete(lastKnown.keys().next().value as string);
  }

  async function readCache(eventId: string): Promise<{ entry?: CachedAvailability; reachable: boolean }> {
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
      deps.metrics?.cacheReads.inc({ result: result.source });
      return result;
    },
    /** A document announced on the backplane: kept unless a newer one is already held. */
    apply(entry: CachedAvailability): void {
      const held = lastKnown.get(entry.value.eventId);
      if (!held || held.cachedAt <= entry.cachedAt) remember(entry);
    },
    /** An event whose figures changed without a document: nothing to update in memory yet. */
    drop(_eventId: string): void {},
    /** Messages may have been missed: nothing to drop in memory yet (the last-known values stay as fail-safe). */
    dropAll(): void {},
  };

  async function read(eventId: string): Promise<AvailabilityResult> {
    const { entry, reachable } = await readCache(eventId);
    if (entry && Date.now() - entry.cachedAt < deps.ttlMs) {
      remember(entry);
      return { value: entry.value, source: 'hit' };
    }
    const fallback = entry ?? lastKnown.get(eventId);
    const fresh: CacheSource = reachable ? 'miss' : 'bypass';
    const loading = loadFromDatabase(eventId);
    if (fallback) {
      const outcome = await Promise.race([
        loading.catch((err: unknown) => ({ failed: err })),
        new Promise<typeof TIMED_OUT>((resolve) => setTimeout(resolve, deps.softTimeoutMs, TIMED_OUT).unref()),
      ]);
      if (outcome !== TIMED_OUT && outcome !== undefined && !('failed' in outcome))
        return { value: outcome, source: fresh };
      if (outcome === undefined) throw new AppError('event_not_found', `Event ${eventId} does not exist.`);
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
    if (!value) throw new AppError('event_not_found', `Event ${eventId} does not exist.`);
    return { value, source: fresh };
  }
}

export type AvailabilityService = ReturnType<typeof createAvailabilityService>;
