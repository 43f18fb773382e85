import { randomUUID } from 'node:crypto';
import type { Sql } from '@stampede/core/db';
import { createBuckets } from '@stampede/core/events';

export interface BenchTier {
  id: string;
  capacity: number;
}

export interface BenchEvent {
  id: string;
  tiers: BenchTier[];
}

/** The events one run uses, each made for one purpose so their figures never mix. */
export interface BenchEvents {
  /** Availability reads: a few tiers, never bought. */
  reads: BenchEvent;
  /** Sold out in the warm-up: its purchase answers are 409s. */
  soldOut: BenchEvent;
  /** Admission with the worker stopped; its backlog is the drain. */
  admission: BenchEvent;
  /** The spike, queued design (worker running). */
  spikeQueued: BenchEvent;
  /** The same spike against the synchronous baseline. */
  spikeSync: BenchEvent;
}

/**
 * One hot tier of this size: large enough never to sell out during a run, so every
 * purchase is a real admission, and one tier because a flash sale is everyone after the
 * same seats (in the sync baseline, one locked row).
 */
export const HOT_TIER_CAPACITY = 10_000_000;
export const SOLD_OUT_CAPACITY = 2;

async function createEvent(sql: Sql, label: string, capacities: number[], buckets = 1): Promise<BenchEvent> {
  const id = randomUUID();
  await sql`insert into events (id, name, venue, starts_at, sale_opens_at)
    values (${id}, ${`Benchmark ${label} ${id.slice(0, 8)}`}, 'Benchmark hall', now() + interval '7 days', now() - interval '1 minute')`;
  const tiers = capacities.map((capacity) => ({ id: randomUUID(), capacity }));
  for (const [i, t] of tiers.entries()) {
    await sql.begin(async (tx) => {
      await tx`insert into tiers (id, event_id, name, price_cents, capacity, buckets) values (${t.id}, ${id}, ${`Tier ${i + 1}`}, ${5000 * (i + 1)}, ${t.capacity}, ${buckets})`;
      if (buckets > 1) await createBuckets(tx, t.id, t.capacity, buckets);
    });
  }
  return { id, tiers };
}

/**
 * Creates the run's events in Postgres, on sale now; with `hotBuckets` K > 1 the admission
 * event's hot tier (whose backlog is the drain) is split into K buckets.
 */
export async function createBenchEvents(sql: Sql, options: { hotBuckets?: number } = {}): Promise<BenchEvents> {
  return {
    reads: await createEvent(sql, 'reads', [500, 1_500, 3_000]),
    soldOut: await createEvent(sql, 'sold-out', [SOLD_OUT_CAPACITY]),
    admission: await createEvent(sql, 'admission', [HOT_TIER_CAPACITY], options.hotBuckets),
    spikeQueued: await createEvent(sql, 'spike queued', [HOT_TIER_CAPACITY]),
    spikeSync: await createEvent(sql, 'spike sync', [HOT_TIER_CAPACITY]),
  };
}

/** Removes the run's events and, by cascade, their tiers and purchases. */
export async function deleteBenchEvents(sql: Sql, events: BenchEvents): Promise<void> {
  const ids = Object.values(events).map((e) => e.id);
  await sql`delete from events where id = any(${ids}::uuid[])`;
}
