import type { Sql } from '@stampede/core/db';
import type { TierFacts } from './tier-figures.js';

type PostgresTier = Omit<TierFacts, 'stock' | 'held'>;

/**
 * Each tier of the event (or of every event) with its sold counter (its buckets' sum when
 * it is split) and the sum of its
 * confirmed rows, read in one statement so both come from the same snapshot.
 */
export async function readTiers(sql: Sql, eventId: string | undefined): Promise<PostgresTier[]> {
  return sql<PostgresTier[]>`
    select t.id as "tierId", t.event_id as "eventId", t.name, t.capacity, s.sold,
           coalesce(sum(p.quantity) filter (where p.status = 'confirmed'), 0)::int as confirmed
    from tiers t join tier_stock s on s.tier_id = t.id left join purchases p on p.tier_id = t.id
    ${eventId ? sql`where t.event_id = ${eventId}` : sql``}
    group by t.id, s.sold
    order by t.event_id, t.capacity desc, t.name`;
}
