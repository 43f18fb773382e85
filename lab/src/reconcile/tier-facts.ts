import type { Sql } from '@stampede/core/db';
import type { Redis, RedisKeys } from '@stampede/core/redis';
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

/** The gate's view of some tiers: the stock key (null when absent) and the sum of held quantities. */
export async function readGate(
  redis: Redis,
  keys: RedisKeys,
  tierIds: string[],
): Promise<Map<string, { stock: number | null; held: number }>> {
  const pipeline = redis.pipeline();
  for (const id of tierIds) pipeline.get(keys.stock(id)).hvals(keys.held(id));
  const replies = (await pipeline.exec()) ?? [];
  const out = new Map<string, { stock: number | null; held: number }>();
  tierIds.forEach((id, i) => {
    const [stockErr, stock] = replies[2 * i] ?? [new Error('no reply')];
    const [heldErr, held] = replies[2 * i + 1] ?? [new Error('no reply')];
    if (stockErr || heldErr) throw stockErr ?? heldErr;
    out.set(id, { stock: stock === null ? null : Number(stock), held: sumHeld(held as string[]) });
  });
  return out;
}

/** Held entries are `qty|acceptedAtMs|buyerKey` (see the gate scripts); the quantity is what counts. */
function sumHeld(entries: string[]): number {
  return entries.reduce((n, v) => n + (Number.parseInt(v.split('|', 1)[0]!, 10) || 0), 0);
}
