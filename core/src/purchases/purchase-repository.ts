import type { Sql } from '../db/sql.js';

/** A decided purchase as Postgres holds it. */
export interface PurchaseRow {
  id: string;
  idempotencyKey: string;
  eventId: string;
  tierId: string;
  buyerId: string;
  quantity: number;
  status: 'confirmed' | 'rejected';
  reason: string | null;
  acceptedAt: Date | null;
  decidedAt: Date;
}

/** One purchase by id, or undefined when Postgres has no decision for it (yet). */
export async function findPurchase(sql: Sql, purchaseId: string): Promise<PurchaseRow | undefined> {
  const [row] = await sql<PurchaseRow[]>`
    select id, idempotency_key as "idempotencyKey", event_id as "eventId", tier_id as "tierId", buyer_id as "buyerId",
           quantity, status, reason, accepted_at as "acceptedAt", decided_at as "decidedAt"
    from purchases where id = ${purchaseId}`;
  return row;
}
