import { randomUUID } from 'node:crypto';
import type { Sql, TransactionSql } from '../db/sql.js';
import type { DecidedStatus } from '../purchases/purchase-vocabulary.js';
import { type EventWithTiers, findEventWithTiers } from './event-repository.js';
import type { SaleWindow } from './sale-window.js';

export interface NewEvent {
  name: string;
  venue: string;
  startsAt: Date;
  saleOpensAt: Date;
  saleClosesAt: Date | null;
  /** `buckets`: how many buckets its stock is split into (default 1: not split). */
  tiers: { name: string; priceCents: number; capacity: number; buckets?: number }[];
}

/** Creates an event and its tiers in one transaction; returns it as read back. */
export async function createEvent(sql: Sql, e: NewEvent): Promise<EventWithTiers> {
  const id = randomUUID();
  await sql.begin(async (tx) => {
    await tx`insert into events (id, name, venue, starts_at, sale_opens_at, sale_closes_at)
      values (${id}, ${e.name}, ${e.venue}, ${e.startsAt}, ${e.saleOpensAt}, ${e.saleClosesAt})`;
    for (const t of e.tiers) {
      const tierId = randomUUID();
      const buckets = Math.min(t.buckets ?? 1, t.capacity);
      await tx`insert into tiers (id, event_id, name, price_cents, capacity, buckets)
        values (${tierId}, ${id}, ${t.name}, ${t.priceCents}, ${t.capacity}, ${buckets})`;
      if (buckets > 1) await createBuckets(tx, tierId, t.capacity, buckets);
    }
  });
  return (await findEventWithTiers(sql, id)) as EventWithTiers;
}

/**
 * The bucket rows of a split tier: its capacity shared as evenly as it divides (the first
 * buckets take one more), so the K lanes start with the same stock.
 */
export async function createBuckets(tx: TransactionSql, tierId: string, capacity: number, buckets: number) {
  const share = (b: number) => Math.floor(capacity / buckets) + (b < capacity % buckets ? 1 : 0);
  const ids = Array.from({ length: buckets }, (_, b) => b);
  await tx`insert into tier_buckets (tier_id, bucket, capacity)
    select ${tierId}, b, c from unnest(${ids}::int[], ${ids.map(share)}::int[]) as u(b, c)`;
}

/**
 * Opens the sale now (and clears any close time), or closes it now; the window as
 * committed, undefined when there is no such event. The event row is locked first, which
 * waits for the worker's batches that hold it (they read the window open), and only then
 * is the time read: every purchase those batches confirmed was decided before the close
 * it stamps. (An UPDATE alone would compute its new value before waiting for the row.)
 * Opening keeps the start of a sale that had already opened, so purchases accepted since
 * then and still queued stay inside the window.
 */
export async function setSaleOpen(sql: Sql, eventId: string, open: boolean): Promise<SaleWindow | undefined> {
  return sql.begin(async (tx) => {
    const [locked] = await tx`select id from events where id = ${eventId} for no key update`;
    if (!locked) return undefined;
    const [window] = open
      ? await tx<
          SaleWindow[]
        >`update events set sale_opens_at = least(sale_opens_at, clock_timestamp()), sale_closes_at = null
          where id = ${eventId} returning sale_opens_at as "saleOpensAt", sale_closes_at as "saleClosesAt"`
      : await tx<
          SaleWindow[]
        >`update events set sale_closes_at = greatest(clock_timestamp(), sale_opens_at + interval '1 millisecond')
          where id = ${eventId} returning sale_opens_at as "saleOpensAt", sale_closes_at as "saleClosesAt"`;
    return window;
  }) as Promise<SaleWindow | undefined>;
}

export interface TierStats {
  tierId: string;
  name: string;
  capacity: number;
  sold: number;
  confirmedPurchases: number;
  rejected: Record<string, number>;
}

/** Sale statistics per tier from Postgres: sold, confirmed purchases, rejections by reason. */
export async function saleStats(sql: Sql, eventId: string): Promise<TierStats[]> {
  const tiers = await sql<{ tierId: string; name: string; capacity: number; sold: number }[]>`
    select t.id as "tierId", t.name, t.capacity, s.sold from tiers t join tier_stock s on s.tier_id = t.id
    where t.event_id = ${eventId} order by t.price_cents desc, t.name`;
  const counts = await sql<{ tierId: string; status: DecidedStatus; reason: string | null; n: number }[]>`
    select tier_id as "tierId", status, reason, count(*)::int as n from purchases where event_id = ${eventId} group by 1, 2, 3`;
  return tiers.map((t) => {
    const mine = counts.filter((c) => c.tierId === t.tierId);
    return {
      ...t,
      confirmedPurchases: mine.filter((c) => c.status === 'confirmed').reduce((n, c) => n + c.n, 0),
      rejected: Object.fromEntries(
        mine.filter((c) => c.status === 'rejected').map((c) => [c.reason ?? 'unknown', c.n]),
      ),
    };
  });
}
