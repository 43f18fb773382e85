import { randomUUID } from 'node:crypto';
import type { Sql } from '../db/sql.js';
import type { DecidedStatus } from '../purchases/purchase-vocabulary.js';
import { type EventWithTiers, findEventWithTiers } from './event-repository.js';
import type { SaleWindow } from './sale-window.js';

export interface NewEvent {
  name: string;
  venue: string;
  startsAt: Date;
  saleOpensAt: Date;
  saleClosesAt: Date | null;
  tiers: { name: string; priceCents: number; capacity: number }[];
}

/** Creates an event and its tiers in one transaction; returns it as read back. */
export async function createEvent(sql: Sql, e: NewEvent): Promise<EventWithTiers> {
  const id = randomUUID();
  await sql.begin(async (tx) => {
    await tx`insert into events (id, name, venue, starts_at, sale_opens_at, sale_closes_at)
      values (${id}, ${e.name}, ${e.venue}, ${e.startsAt}, ${e.saleOpensAt}, ${e.saleClosesAt})`;
    for (const t of e.tiers) {
      await tx`insert into tiers (id, event_id, name, price_cents, capacity) values (${randomUUID()}, ${id}, ${t.name}, ${t.priceCents}, ${t.capacity})`;
    }
  });
  return (await findEventWithTiers(sql, id)) as EventWithTiers;
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
    select id as "tierId", name, capacity, sold from tiers where event_id = ${eventId} order by price_cents desc, name`;
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
