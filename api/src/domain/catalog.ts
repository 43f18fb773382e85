import type { Sql } from '@stampede/core/db';
import { type EventWithTiers, findEventWithTiers } from '@stampede/core/events';
import { type Redis, type RedisKeys, redisIsReady } from '@stampede/core/redis';
import { createBoundedMap, createExpiringSet } from './bounded-map.js';

interface Entry {
  event: EventWithTiers;
  loadedAt: number;
}

/** Where a replica can find an event another replica loaded: Redis, when it is there. */
export interface SharedCatalog {
  redis: Redis;
  keys: RedisKeys;
  /** How long a shared copy is kept (it is rewritten at each refresh). */
  ttlSeconds: number;
}

export interface CatalogOptions {
  /** A known event is read again, in the background, once it is this old. */
  ttlMs: number;
  /** Events kept; the least recently used goes first. */
  maxEvents: number;
  /** How long "no such event" is remembered, so a repeated unknown id costs no query. */
  negativeTtlMs: number;
  /** Unknown ids remembered; kept apart from the events, so a flood of them evicts no real event. */
  maxUnknown: number;
  shared?: SharedCatalog;
  /** Reads one event from Postgres (findEventWithTiers; a test counts its queries through it). */
  find?: (sql: Sql, eventId: string) => Promise<EventWithTiers | undefined>;
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
 *
 * Both maps are bounded (LRU), since their keys are ids a client sends: random
 * well-formed ids cost at most `maxUnknown` small entries, and each id one query per
 * `negativeTtlMs`. The backplane keeps entries in step with admin changes
 * (`applySaleWindow`, `drop`, `refreshAll`); a load that was in flight when such a change arrived is
 * not remembered, since it may have read the state from before it.
 */
export function createCatalog(sql: Sql, options: CatalogOptions) {
  const { ttlMs, negativeTtlMs, shared } = options;
  const find = options.find ?? findEventWithTiers;
  const entries = createBoundedMap<Entry>(options.maxEvents);
  const unknown = createExpiringSet(negativeTtlMs, options.maxUnknown);
  const loading = new Map<string, Promise<EventWithTiers | undefined>>();

  function remember(eventId: string, event: EventWithTiers | undefined): void {
    if (event) {
      entries.set(eventId, { event, loadedAt: Date.now() });
      unknown.delete(eventId);
      if (shared && redisIsReady(shared.redis)) {
        shared.redis
          .set(shared.keys.catalog(eventId), JSON.stringify(event), 'EX', shared.ttlSeconds)
          .catch(() => undefined);
      }
    } else {
      entries.delete(eventId);
      unknown.add(eventId);
    }
  }

  function load(eventId: string): Promise<EventWithTiers | undefined> {
    let pending = loading.get(eventId);
    if (!pending) {
      const started = find(sql, eventId).then((event) => {
        // Superseded (a change arrived while it was read): answered, not remembered.
        if (loading.get(eventId) === started) remember(eventId, event);
        return event;
      });
      pending = started;
      loading.set(eventId, started);
      started.then(
        () => loading.get(eventId) === started && loading.delete(eventId),
        () => loading.get(eventId) === started && loading.delete(eventId),
      );
    }
    return pending;
  }

  async function fromShared(eventId: string): Promise<EventWithTiers | undefined> {
    if (!shared || !redisIsReady(shared.redis)) return undefined;
    const raw = await shared.redis.get(shared.keys.catalog(eventId)).catch(() => null);
    return raw ? revive(raw) : undefined;
  }

  /**
   * The event as held here, without waiting: undefined when it is not held, or known not
   * to exist (then `event` says which). Stale-while-revalidate: a purchase never waits on
   * the refresh of a known event, so a slow database does not slow admissions; a failed
   * refresh keeps the entry.
   */
  function held(eventId: string): EventWithTiers | undefined {
    const known = entries.get(eventId);
    if (!known) return undefined;
    if (Date.now() - known.loadedAt >= ttlMs) load(eventId).catch(() => undefined);
    return known.event;
  }

  /** Forgets an event on this replica only. */
  function drop(eventId: string): void {
    entries.delete(eventId);
    unknown.delete(eventId);
    loading.delete(eventId);
  }

  return {
    held,
    /** The event with its tiers, undefined when it does not exist. Throws only when Postgres is away and nothing is known. */
    async event(eventId: string): Promise<EventWithTiers | undefined> {
      const event = held(eventId);
      if (event) return event;
      if (unknown.has(eventId)) return undefined;
      try {
        return await load(eventId);
      } catch (err) {
        const copy = await fromShared(eventId);
        if (!copy) throw err;
        // Kept as stale so the next purchase tries Postgres again in the background.
        entries.set(eventId, { event: copy, loadedAt: 0 });
        return copy;
      }
    },
    /** Forgets an event (after an admin change here), so the next purchase reads it again. */
    forget(eventId: string): void {
      drop(eventId);
      if (shared && redisIsReady(shared.redis)) shared.redis.del(shared.keys.catalog(eventId)).catch(() => undefined);
    },
    drop,
    /** A sale window as committed elsewhere: applied in place when the event is known here. */
    applySaleWindow(eventId: string, saleOpensAt: Date, saleClosesAt: Date | null): void {
      unknown.delete(eventId);
      loading.delete(eventId);
      const known = entries.peek(eventId);
      if (known) entries.set(eventId, { ...known, event: { ...known.event, saleOpensAt, saleClosesAt } });
    },
    /**
     * After messages may have been missed (the backplane was down): every unknown id is
     * forgotten and every known event read again now, in the background (the pool bounds
     * how many at once; each is still answered from its entry meanwhile, and kept when the
     * read fails).
     */
    refreshAll(): void {
      unknown.clear();
      loading.clear();
      for (const { event } of [...entries.values()]) load(event.id).catch(() => undefined);
    },
    /** How many events and unknown ids are held (tests, metrics). */
    sizes: () => ({ events: entries.size, unknown: unknown.size }),
  };
}

export type Catalog = ReturnType<typeof createCatalog>;
