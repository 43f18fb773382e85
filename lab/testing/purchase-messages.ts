import { randomUUID } from 'node:crypto';
import type { Sql } from '@stampede/core/db';
import type { PurchaseMessage } from '@stampede/core/purchases';
import { gateShard, placePurchase, purchaseIdFor } from '@stampede/core/purchases';
import type { TestEvent } from './fixtures.js';

/**
 * A valid purchase message for a test event's tier, placed as the API places it (its home
 * bucket when the tier is split, the id naming that bucket's gate shard); every field can
 * be overridden, and an overridden bucket moves the id to its shard.
 */
export function purchaseMessage(
  event: TestEvent,
  overrides: Partial<PurchaseMessage> = {},
  tierIndex = 0,
): PurchaseMessage {
  const idempotencyKey = overrides.idempotencyKey ?? `test-${randomUUID()}`;
  const tier = event.tiers[tierIndex]!;
  const eventId = overrides.eventId ?? event.id;
  const place = placePurchase(idempotencyKey, eventId, tier.buckets ?? 1);
  const bucket = overrides.bucket ?? place.bucket;
  return {
    v: 1,
    purchaseId: purchaseIdFor(idempotencyKey, gateShard(eventId, bucket)),
    idempotencyKey,
    eventId,
    tierId: tier.id,
    ...((tier.buckets ?? 1) > 1 || overrides.bucket !== undefined ? { bucket } : {}),
    buyerId: `buyer-${randomUUID().slice(0, 8)}`,
    quantity: 1,
    requestId: `req-${randomUUID().slice(0, 8)}`,
    acceptedBy: 'test',
    acceptedAt: new Date().toISOString(),
    gated: false,
    ...overrides,
  };
}

/** What Postgres holds for an event: sold per tier and purchase rows by status. */
export async function purchaseFigures(sql: Sql, event: TestEvent) {
  const tiers = await sql<
    { id: string; capacity: number; sold: number }[]
  >`select tier_id as id, capacity, sold from tier_stock where event_id = ${event.id} order by tier_id`;
  const rows = await sql<{ status: string; reason: string | null; count: number; quantity: number }[]>`
    select status, reason, count(*)::int as count, sum(quantity)::int as quantity
    from purchases where event_id = ${event.id} group by status, reason`;
  const count = (status: string, reason?: string | null) =>
    rows
      .filter((r) => r.status === status && (reason === undefined || r.reason === reason))
      .reduce((n, r) => n + r.count, 0);
  const confirmedQuantity = rows.filter((r) => r.status === 'confirmed').reduce((n, r) => n + r.quantity, 0);
  return {
    tiers,
    rows: rows.reduce((n, r) => n + r.count, 0),
    count,
    confirmedQuantity,
    sold: tiers.reduce((n, t) => n + t.sold, 0),
  };
}
