import type { Sql } from '@stampede/core/db';
import type { TierFacts } from './tier-figures.js';

type PostgresTier = Omit<TierFacts, 'stock' | 'held'>;

/**
 * Each tier of the event (or of every event) with its sold counter and the sum of its
 * confirmed rows, read in one statement so both come from the same snapshot.
 */
export async function readTiers(sql: Sql, eventId: string | undefined): Promise<PostgresTier[]> {
  return sql<PostgresTier[]>`
    select t.id as "tierId", t.event_id as "eventId", t.name, t.capacity, t.sold,
           coalesce(sum(p.quantity) filter (where p.status = 'confirmed'), 0)::int as confirmed
    from tiers t left join purchases p on p.tier_id = t.id
    ${eventId ? sql`where t.event_id = ${eventId}` : sql``}
    group by t.id
    order by t.event_id, t.capacity desc, t.name`;
}
