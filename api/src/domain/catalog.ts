import type { Sql } from '@stampede/core/db';
import { type EventWithTiers, findEventWithTiers } from '@stampede/core/events';
import { type Redis, type RedisKeys, redisIsReady } from '@stampede/core/redis';

interface Entry {
  event: EventWithTiers | undefined;
  loadedAt: number;
}

/** Where a replica can find an event another replica loaded: Redis, when it is there. */
export interface SharedCatalog {
  redis: Redis;
  keys: RedisKeys;
  /** How long a shared copy is kept (it is rewritten at each refresh). */
  ttlSeconds: number;
}

const revive = (raw: string): EventWithTiers => {
  const e = JSON.parse(raw) as EventWithTiers & { startsAt: string; saleOpensAt: string; saleClosesAt: string | null };
  return {
    ...e,
    startsAt: new Date(e.startsAt),
    saleOpensAt: new Date(e.saleOpensAt),
    saleClosesAt: e.saleClosesAt ? new Date(e.saleClosesAt) : null,
  };
};

/**
 * What a purchase needs to know about an event (its tiers, its sale window), kept in
 * process. Events change rarely and a sale reads them thousands of times a second, so
 * each replica refreshes an event at most once per `ttlMs`, in the background; when
 * Postgres is away or slow the last known entry keeps purchases flowing (the worker
 * decides against Postgres). Each load is also shared through Redis, so a replica that
 * never saw an event (just started, or no purchase reached it yet) can still admit
 * purchases for it while Postgres is down.
 */
export function createCatalog(sql: Sql, ttlMs = 5_000, shared?: SharedCatalog) {
  const entries = new Map<string, Entry>();
  const loading = new Map<string, Promise<Entry>>();

  function remember(eventId: string, event: EventWithTiers | undefined): Entry {
    const entry = { event, loadedAt: Date.now() };
    entries.set(eventId, entry);
    return entry;
  }

  function load(eventId: string): Promise<Entry> {
    let pending = loading.get(eventId);
    if (!pending) {
      pending = findEventWithTiers(sql, eventId)
        .then((event) => {
          if (event && shared && redisIsReady(shared.redis)) {
            shared.redis
              .set(shared.keys.catalog(eventId), JSON.stringify(event), 'EX', shared.ttlSeconds)
              .catch(() => undefined);
          }
          return remember(eventId, event);
        })
        .finally(() => loading.delete(eventId));
      loading.set(eventId, pending);
    }
    return pending;
  }

  async function fromShared(eventId: string): Promise<EventWithTiers | undefined> {
    if (!shared || !redisIsReady(shared.redis)) return undefined;
    const raw = await shared.redis.get(shared.keys.catalog(eventId)).catch(() => null);
    return raw ? revive(raw) : undefined;
  }

  return {
    /** The event with its tiers, undefined when it does not exist. Throws only when Postgres is away and nothing is known. */
    async event(eventId: string): Promise<EventWithTiers | undefined> {
      const known = entries.get(eventId);
      if (known) {
        // Stale-while-revalidate: a purchase never waits on the refresh of a known event,
        // so a slow database does not slow admissions; a failed refresh keeps the entry.
        if (Date.now() - known.loadedAt >= ttlMs) load(eventId).catch(() => undefined);
        return known.event;
      }
      try {
        return (await load(eventId)).event;
      } catch (err) {
        const copy = await fromShared(eventId);
        if (!copy) throw err;
        // Kept as stale so the next purchase tries Postgres again in the background.
        entries.set(eventId, { event: copy, loadedAt: 0 });
        return copy;
      }
    },
    /** Forgets an event (after an admin change), so the next purchase reads it again. */
    forget(eventId: string): void {
      entries.delete(eventId);
      if (shared && redisIsReady(shared.redis)) shared.redis.del(shared.keys.catalog(eventId)).catch(() => undefined);
    },
  };
}

export type Catalog = ReturnType<typeof createCatalog>;
