import type { Availability } from '../events/event-repository.js';
import type { Redis, RedisKeys } from '../redis/redis-client.js';

/** What Redis holds for an event: the document and when it was cached. */
export interface CachedAvailability {
  value: Availability;
  cachedAt: number;
}

/**
 * Reads the cached availability of an event. Throws when Redis is unavailable,
 * so the caller can tell "not cached" (undefined) from "cache not reachable".
 */
export async function readCachedAvailability(
  redis: Redis,
  keys: RedisKeys,
  eventId: string,
): Promise<CachedAvailability | undefined> {
  const raw = await redis.get(keys.availability(eventId));
  return raw ? (JSON.parse(raw) as CachedAvailability) : undefined;
}

/** A document as it is cached now: what a replica holds in memory and the backplane carries. */
export function cachedNow(value: Availability): CachedAvailability {
  return { value, cachedAt: Date.now() };
}

/**
 * Stores availability under the event's key. The key lives for the stale TTL: its
 * freshness is judged from `cachedAt`, so an expired-fresh value is still there to
 * serve, marked stale, if Postgres goes away.
 */
export async function writeCachedAvailability(
  redis: Redis,
  keys: RedisKeys,
  entry: CachedAvailability,
  staleTtlMs: number,
): Promise<void> {
  await redis.set(keys.availability(entry.value.eventId), JSON.stringify(entry), 'PX', staleTtlMs);
}
