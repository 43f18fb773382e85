import type { Sql, TransactionSql } from '../db/sql.js';
import type { SaleWindow } from '../events/sale-window.js';
import { isUuid } from './purchase-id.js';
import type { DecidedStatus, PurchaseFields, RejectionReason } from './purchase-vocabulary.js';

/**
 * Data access of the purchases table (and the tier rows a decision locks): what the
 * decision reads and writes inside its transaction, and the reads of one purchase.
 */

/** A decided purchase as Postgres holds it. */
export interface PurchaseRow extends PurchaseFields {
  id: string;
  status: DecidedStatus;
  reason: RejectionReason | null;
  acceptedAt: Date | null;
  decidedAt: Date;
}

/** A tier as the decision sees it, with its event's sale window, locked for the length of the transaction. */
export interface LockedTier extends SaleWindow {
  id: string;
  eventId: string;
  capacity: number;
  sold: number;
}

/** A purchase already decided (a redelivery, a retried key, or a concurrent batch's row). */
export type StoredPurchase = Pick<PurchaseRow, 'id' | 'idempotencyKey' | 'status' | 'reason' | 'decidedAt'>;

/** One row to insert; arrays of these columns go to Postgres in one statement. */
export type NewPurchaseRow = Omit<PurchaseRow, 'acceptedAt' | 'decidedAt'> & {
  requestId: string | null;
  acceptedAt: string | null;
};

/** One purchase by id, or undefined when Postgres has no decision for it (yet). */
export async function findPurchase(sql: Sql, purchaseId: string): Promise<PurchaseRow | undefined> {
  const [row] = await sql<PurchaseRow[]>`
    select id, idempotency_key as "idempotencyKey", event_id as "eventId", tier_id as "tierId", buyer_id as "buyerId",
           quantity, status, reason, accepted_at as "acceptedAt", decided_at as "decidedAt"
    from purchases where id = ${purchaseId}`;
  return row;
}

/** The decided purchases among these ids, by id (an id that is not a UUID has none). */
export async function findPurchases(sql: Sql, purchaseIds: string[]): Promise<Map<string, PurchaseRow>> {
  const ids = purchaseIds.filter(isUuid);
  if (ids.length === 0) return new Map();
  const rows = await sql<PurchaseRow[]>`
    select id, idempotency_key as "idempotencyKey", event_id as "eventId", tier_id as "tierId", buyer_id as "buyerId",
           quantity, status, reason, accepted_at as "acceptedAt", decided_at as "decidedAt"
    from purchases where id = any(${ids}::uuid[])`;
  return new Map(rows.map((r) => [r.id, r]));
}

/** Namespace of the buyer advisory locks (first int of the two-int form), so they never meet other locks. */
const BUYER_LOCK_NAMESPACE = 0x5354_4252;

/**
 * Locks the tiers `FOR UPDATE` in id order: every transaction takes them in the same
 * order, so concurrent batches queue instead of deadlocking. Their events are locked
 * `FOR SHARE` with them, so a sale's close (an update of the event row) waits for the
 * batches that read the window open, and stamps its time after their commit.
 */
export async function lockTiers(tx: TransactionSql, tierIds: string[]): Promise<Map<string, LockedTier>> {
  const rows = await tx<LockedTier[]>`
    select t.id, t.event_id as "eventId", t.capacity, t.sold,
           e.sale_opens_at as "saleOpensAt", e.sale_closes_at as "saleClosesAt"
    from tiers t join events e on e.id = t.event_id
    where t.id = any(${tierIds}::uuid[]) order by t.id for update of t for share of e`;
  return new Map(rows.map((r) => [r.id, r]));
}

/**
 * Serialises decisions per (event, buyer) with transaction advisory locks taken in hash
 * order after the tier locks, so two batches for different tiers cannot both spend the
 * same buyer's limit. Hash collisions only make two buyers wait for each other.
 */
export async function lockBuyers(tx: TransactionSql, pairs: { eventId: string; buyerId: string }[]): Promise<void> {
  await tx`
    select pg_advisory_xact_lock(${BUYER_LOCK_NAMESPACE}::int, k) from (
      select distinct hashtext(e || ':' || b) as k
      from unnest(${pairs.map((p) => p.eventId)}::text[], ${pairs.map((p) => p.buyerId)}::text[]) as u(e, b)
      order by k) s`;
}

/** Purchases already stored under these idempotency keys. */
export async function findByKeys(tx: TransactionSql, keys: string[]): Promise<Map<string, StoredPurchase>> {
  const rows = await tx<StoredPurchase[]>`
    select id, idempotency_key as "idempotencyKey", status, reason, decided_at as "decidedAt"
    from purchases where idempotency_key = any(${keys}::text[])`;
  return new Map(rows.map((r) => [r.idempotencyKey, r]));
}

/** Confirmed tickets per `eventId|buyerId` for the given (distinct) pairs. */
export async function confirmedByBuyer(
  tx: TransactionSql,
  pairs: { eventId: string; buyerId: string }[],
): Promise<Map<string, number>> {
  const rows = await tx<{ eventId: string; buyerId: string; quantity: number }[]>`
    select p.event_id as "eventId", p.buyer_id as "buyerId", sum(p.quantity)::int as quantity
    from purchases p
    join unnest(${pairs.map((p) => p.eventId)}::uuid[], ${pairs.map((p) => p.buyerId)}::text[]) as u(event_id, buyer_id)
      on p.event_id = u.event_id and p.buyer_id = u.buyer_id
    where p.status = 'confirmed'
    group by p.event_id, p.buyer_id`;
  return new Map(rows.map((r) => [buyerKey(r.eventId, r.buyerId), r.quantity]));
}

/**
 * Inserts the rows and adds the confirmed quantities of the rows really inserted to
 * `tiers.sold`, in one statement (one round trip per batch instead of two). A key that a
 * concurrent transaction stored first is skipped (DO NOTHING) and adds nothing; the
 * returned map holds only the rows really inserted. The CHECK refuses any oversell.
 */
export async function writePurchases(tx: TransactionSql, rows: NewPurchaseRow[]): Promise<Map<string, Date>> {
  if (rows.length === 0) return new Map();
  const col = <K extends keyof NewPurchaseRow>(k: K) => rows.map((r) => r[k]);
  const inserted = await tx<{ idempotencyKey: string; decidedAt: Date }[]>`
    with ins as (
      insert into purchases (id, idempotency_key, event_id, tier_id, buyer_id, quantity, status, reason, request_id, accepted_at)
      select * from unnest(
        ${col('id')}::uuid[], ${col('idempotencyKey')}::text[], ${col('eventId')}::uuid[], ${col('tierId')}::uuid[],
        ${col('buyerId')}::text[], ${col('quantity')}::int[], ${col('status')}::text[], ${col('reason')}::text[],
        ${col('requestId')}::text[], ${col('acceptedAt')}::timestamptz[])
      on conflict (idempotency_key) do nothing
      returning idempotency_key, decided_at, tier_id, quantity, status
    ), sold as (
      update tiers t set sold = t.sold + d.delta
      from (select tier_id, sum(quantity)::int as delta from ins where status = 'confirmed' group by tier_id) d
      where t.id = d.tier_id
    )
    select idempotency_key as "idempotencyKey", decided_at as "decidedAt" from ins`;
  return new Map(inserted.map((r) => [r.idempotencyKey, r.decidedAt]));
}

/** The key of a buyer's running count within an event. */
export function buyerKey(eventId: string, buyerId: string): string {
  return `${eventId}|${buyerId}`;
}
