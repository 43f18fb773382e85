import type { Sql } from '@stampede/core/db';
import { findEventWithTiers, type EventWithTiers } from '@stampede/core/events/event-repository';

interface Entry {
  event: EventWithTiers | undefined;
  loadedAt: number;
}

/**
 * What a purchase needs to know about an event (its tiers, its sale window), kept in
 * process. Events change rarely and a sale reads them thousands of times a second, so
 * each replica refreshes an event at most once per `ttlMs`, in the background; when
 * Postgres is away or slow the last known entry keeps purchases flowing (the worker
 * decides against Postgres).
 */
export function createCatalog(sql: Sql, ttlMs = 5_000) {
  const entries = new Map<string, Entry>();
  const loading = new Map<string, Promise<Entry>>();

  function load(eventId: string): Promise<Entry> {
    let pending = loading.get(eventId);
    if (!pending) {
      pending = findEventWithTiers(sql, eventId)
        .then((event) => {
          const entry = { event, loadedAt: Date.now() };
          entries.set(eventId, entry);
          return entry;
        })
        .finally(() => loading.delete(eventId));
      loading.set(eventId, pending);
    }
    return pending;
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
      return (await load(eventId)).event;
    },
    /** Forgets an event (after an admin change), so the next purchase reads it again. */
    forget(eventId: string): void {
      entries.delete(eventId);
    },
  };
}

export type Catalog = ReturnType<typeof createCatalog>;
