import type { Sql, TransactionSql } from '../db/sql.js';
import type { SaleWindow } from './sale-window.js';

export interface TierRow {
  id: string;
  eventId: string;
  name: string;
  priceCents: number;
  capacity: number;
  sold: number;
  /** Its stock split into this many buckets (1: not split). */
  buckets: number;
}

export interface EventRow extends SaleWindow {
  id: string;
  name: string;
  venue: string;
  startsAt: Date;
}

export interface EventWithTiers extends EventRow {
  tiers: TierRow[];
}

/** Remaining tickets of one tier as Postgres counts them (capacity − sold). */
export interface TierAvailability {
  tierId: string;
  name: string;
  capacity: number;
  remaining: number;
  soldOut: boolean;
}

/** The availability document: what GET /events/:id/availability answers and Redis caches. */
export interface Availability {
  eventId: string;
  soldOut: boolean;
  /** When Postgres produced these figures (ISO 8601). */
  asOf: string;
  tiers: TierAvailability[];
}

/** Lists events, soonest first. */
export async function listEvents(sql: Sql, limit = 100): Promise<EventRow[]> {
  return sql<EventRow[]>`
    select id, name, venue, starts_at as "startsAt", sale_opens_at as "saleOpensAt", sale_closes_at as "saleClosesAt"
    from events order by starts_at, id limit ${limit}`;
}

/** One event with its tiers, or undefined when there is no such event. */
export async function findEventWithTiers(sql: Sql, eventId: string): Promise<EventWithTiers | undefined> {
  const [event] = await sql<EventRow[]>`
    select id, name, venue, starts_at as "startsAt", sale_opens_at as "saleOpensAt", sale_closes_at as "saleClosesAt"
    from events where id = ${eventId}`;
  if (!event) return undefined;
  const tiers = await sql<TierRow[]>`
    select t.id, t.event_id as "eventId", t.name, t.price_cents as "priceCents", t.capacity, s.sold, t.buckets
    from tiers t join tier_stock s on s.tier_id = t.id
    where t.event_id = ${eventId} order by t.price_cents desc, t.name`;
  return { ...event, tiers };
}

/**
 * What Postgres has left of each tier (availableForGate: one figure per bucket of a split
 * tier), with the tier rows locked until the transaction ends: the rows every batch locks `FOR UPDATE` to decide (lockTiers), so no decision on
 * these tiers commits until the caller is done. `NO KEY UPDATE`, not `UPDATE`: a purchase
 * row written meanwhile (a rejection, which takes no stock) checks its foreign key with a
 * `KEY SHARE` lock on the tier, and must not wait for the caller. A tier a batch holds now
 * is skipped, not waited for (its figures are about to change anyway), and is absent from
 * the answer. A split tier's batches hold its row `FOR SHARE`, which this lock waits out in
 * the same way, so its bucket rows do not move either; they are read by a second statement,
 * whose snapshot is taken once the locks are held.
 */
export async function lockAvailableByTier(tx: TransactionSql, tierIds: string[]): Promise<Map<string, number[]>> {
  const locked = await tx<{ id: string }[]>`
    select id from tiers where id = any(${tierIds}::uuid[]) order by id for no key update skip locked`;
  return availableForGate(
    tx,
    locked.map((r) => r.id),
  );
}

/**
 * What the gate is primed and reconciled with, by tier: [capacity − sold] for a tier that
 * is not split, each bucket's capacity − sold in bucket order for a split tier (the gate
 * keeps the same K counts). A tier that does not exist is absent; a split tier whose bucket
 * rows are missing counts as one empty bucket, so nothing is offered that Postgres lacks.
 */
export async function availableForGate(sql: Sql | TransactionSql, tierIds: string[]): Promise<Map<string, number[]>> {
  const rows = await sql<{ id: string; available: number[] }[]>`
    select t.id, case when t.buckets = 1 then array[t.capacity - t.sold]
      else array(select b.capacity - b.sold from tier_buckets b where b.tier_id = t.id order by b.bucket) end as available
    from tiers t where t.id = any(${tierIds}::uuid[])`;
  return new Map(rows.map((r) => [r.id, r.available.length > 0 ? r.available : [0]]));
}

/**
 * Availability of an event in one query, or undefined when there is no such event.
 * One statement, so the figures of all tiers come from the same snapshot.
 */
export async function queryAvailability(sql: Sql, eventId: string): Promise<Availability | undefined> {
  const rows = await sql<
    { tierId: string | null; name: string | null; capacity: number | null; sold: number | null; asOf: Date }[]
  >`
    select t.id as "tierId", t.name, t.capacity, s.sold, now() as "asOf"
    from events e left join tiers t on t.event_id = e.id left join tier_stock s on s.tier_id = t.id
    where e.id = ${eventId}
    order by t.price_cents desc, t.name`;
  const first = rows[0];
  if (!first) return undefined;
  const tiers: TierAvailability[] = rows
    .filter((r) => r.tierId !== null)
    .map((r) => {
      const remaining = (r.capacity ?? 0) - (r.sold ?? 0);
      return {
        tierId: r.tierId as string,
        name: r.name as string,
        capacity: r.capacity as number,
        remaining,
        soldOut: remaining <= 0,
      };
    });
  return { eventId, soldOut: tiers.every((t) => t.soldOut), asOf: first.asOf.toISOString(), tiers };
}
