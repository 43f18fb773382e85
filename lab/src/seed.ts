import type { Sql } from '@stampede/core/db';
import { createBuckets } from '@stampede/core/events';

/** The demo concert: fixed ids so the seed is idempotent and load tests can find it. */
export const DEMO_EVENT_ID = '00000000-0000-4000-8000-00000000c0de';

export const DEMO_TIERS = [
  { id: '00000000-0000-4000-8000-0000000000a1', name: 'VIP', priceCents: 25_000, capacity: 500 },
  { id: '00000000-0000-4000-8000-0000000000a2', name: 'Floor', priceCents: 12_000, capacity: 2_000 },
  { id: '00000000-0000-4000-8000-0000000000a3', name: 'Lower Bowl', priceCents: 8_000, capacity: 4_000 },
  { id: '00000000-0000-4000-8000-0000000000a4', name: 'Upper Bowl', priceCents: 4_500, capacity: 3_500 },
] as const;

/**
 * The hot tier's buckets: the seed splits the Floor, the tier a flash sale's crowd asks
 * for, when `hotBuckets` > 1 (`npm run seed -- --reset --hot-buckets K`), so several workers
 * decide it in parallel.
 */
const HOT_TIER_ID = DEMO_TIERS[1].id;

/**
 * Loads the demo concert (10,000 tickets in four tiers), on sale now. Safe to run twice:
 * existing rows are left as they are. With `reset`, the demo's purchases are deleted
 * and its tiers emptied, so a lab run starts from a full house. Returns how many tickets
 * are left, so a caller can say when a database used before holds a sold-out house.
 */
export async function seedDemo(
  sql: Sql,
  options: { reset?: boolean; hotBuckets?: number } = {},
): Promise<{ eventId: string; tickets: number; left: number }> {
  const left = await sql.begin(async (tx) => {
    await tx`
      insert into events (id, name, venue, starts_at, sale_opens_at)
      values (${DEMO_EVENT_ID}, 'Stampede Live: The Flash Sale Tour', 'Arena One', now() + interval '30 days', now() - interval '1 minute')
      on conflict (id) do nothing`;
    for (const t of DEMO_TIERS) {
      await tx`
        insert into tiers (id, event_id, name, price_cents, capacity)
        values (${t.id}, ${DEMO_EVENT_ID}, ${t.name}, ${t.priceCents}, ${t.capacity})
        on conflict (id) do nothing`;
    }
    if (options.reset) {
      await tx`delete from purchases where event_id = ${DEMO_EVENT_ID}`;
      await tx`update tiers set sold = 0 where event_id = ${DEMO_EVENT_ID}`;
      // The split is set on a full house only: a tier's buckets are made from nothing sold.
      const buckets = Math.max(1, Math.min(64, options.hotBuckets ?? 1));
      await tx`delete from tier_buckets where tier_id = ${HOT_TIER_ID}`;
      await tx`update tiers set buckets = ${buckets} where id = ${HOT_TIER_ID}`;
      if (buckets > 1) await createBuckets(tx, HOT_TIER_ID, DEMO_TIERS[1].capacity, buckets);
      await tx`update events set sale_opens_at = now() - interval '1 minute', sale_closes_at = null where id = ${DEMO_EVENT_ID}`;
    }
    const [row] = await tx<{ left: number }[]>`
      select coalesce(sum(capacity - sold), 0)::int as left from tier_stock where event_id = ${DEMO_EVENT_ID}`;
    return row?.left ?? 0;
  });
  return { eventId: DEMO_EVENT_ID, tickets: DEMO_TIERS.reduce((n, t) => n + t.capacity, 0), left };
}
