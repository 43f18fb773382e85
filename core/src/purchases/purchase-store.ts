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
  /** What the tier row counts: the tier's sold when it is not split (buckets 1), else 0. */
  sold: number;
  /** Its K buckets (1: not split). */
  buckets: number;
}

/** A purchase already decided (a redelivery, a retried key, or a concurrent batch's row). */
export type StoredPurchase = Pick<PurchaseRow, 'id' | 'idempotencyKey' | 'status' | 'reason' | 'decidedAt'>;

/** One row to insert; arrays of these columns go to Postgres in one statement. */
export type NewPurchaseRow = Omit<PurchaseRow, 'acceptedAt' | 'decidedAt'> & {
  requestId: string | null;
  acceptedAt: string | null;
  /** The bucket whose stock it takes (0 for a tier that is not split). */
  bucket: number;
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

/** A bucket of a split tier, locked for the length of the transaction. */
export interface LockedBucket {
  tierId: string;
  bucket: number;
  capacity: number;
  sold: number;
}

/** The key of a bucket in the maps a batch reads. */
export function bucketKey(tierId: string, bucket: number): string {
  return `${tierId}|${bucket}`;
}

/**
 * Locks the tiers a batch decides, in id order within each kind, every transaction in the
 * same order so concurrent batches queue instead of deadlocking: a tier that is not split
 * `FOR UPDATE` (its row counts `sold`), a split tier `FOR SHARE` (batches of its buckets
 * pass one another; reconciliation's `NO KEY UPDATE` and a spill's `UPDATE` wait for them
 * all), or, with `exclusive`, every tier `FOR UPDATE` (a spill: see decide-purchases.ts).
 * Their events are locked `FOR SHARE` with them, so a sale's close (an update of the event
 * row) waits for the batches that read the window open, and stamps its time after their commit.
 * Sent together, run in this order: the two statements are one round trip.
 */
export async function lockTiers(
  tx: TransactionSql,
  tierIds: string[],
  exclusive = false,
): Promise<Map<string, LockedTier>> {
  const [whole, split] = await Promise.all([
    tx<LockedTier[]>`
      select t.id, t.event_id as "eventId", t.capacity, t.sold, t.buckets,
             e.sale_opens_at as "saleOpensAt", e.sale_closes_at as "saleClosesAt"
      from tiers t join events e on e.id = t.event_id
      where t.id = any(${tierIds}::uuid[]) and (t.buckets = 1 or ${exclusive})
      order by t.id for update of t for share of e`,
    tx<LockedTier[]>`
      select t.id, t.event_id as "eventId", t.capacity, t.sold, t.buckets,
             e.sale_opens_at as "saleOpensAt", e.sale_closes_at as "saleClosesAt"
      from tiers t join events e on e.id = t.event_id
      where t.id = any(${tierIds}::uuid[]) and t.buckets > 1 and not ${exclusive}
      order by t.id for share of t, e`,
  ]);
  return new Map([...whole, ...split].map((r) => [r.id, r]));
}

/**
 * Locks bucket rows `FOR UPDATE` in (tier, bucket) order, after the tier locks: the given
 * (tier, bucket) pairs, or with `bucket` null every bucket of the tier. A tier that is not
 * split has no rows.
 */
export async function lockBuckets(
  tx: TransactionSql,
  pairs: { tierId: string; bucket: number | null }[],
): Promise<Map<string, LockedBucket>> {
  if (pairs.length === 0) return new Map();
  const rows = await tx<LockedBucket[]>`
    select b.tier_id as "tierId", b.bucket, b.capacity, b.sold
    from tier_buckets b
    join unnest(${pairs.map((p) => p.tierId)}::uuid[], ${pairs.map((p) => p.bucket)}::int[]) as u(tier_id, bucket)
      on b.tier_id = u.tier_id and (u.bucket is null or b.bucket = u.bucket)
    order by b.tier_id, b.bucket for update of b`;
  return new Map(rows.map((r) => [bucketKey(r.tierId, r.bucket), r]));
}

/**
 * Moves free capacity between buckets of a tier (a spill: decide-purchases.ts), each
 * move's sum zero, so the tier's capacity stays the sum of its buckets'. The CHECK keeps a
 * donor from giving what it has sold.
 */
export async function moveCapacity(
  tx: TransactionSql,
  moves: { tierId: string; bucket: number; delta: number }[],
): Promise<void> {
  if (moves.length === 0) return;
  await tx`
    update tier_buckets b set capacity = b.capacity + u.delta
    from unnest(${moves.map((m) => m.tierId)}::uuid[], ${moves.map((m) => m.bucket)}::int[],
                ${moves.map((m) => m.delta)}::int[]) as u(tier_id, bucket, delta)
    where b.tier_id = u.tier_id and b.bucket = u.bucket`;
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
 * what counts them (`tiers.sold` of a tier that is not split, `tier_buckets.sold` of the
 * row's bucket of one that is), in one statement (one round trip per batch). A key that a
 * concurrent transaction stored first is skipped (DO NOTHING) and adds nothing. Returns
 * the keys really inserted and their `decided_at`, the transaction's `now()` (the
 * column's default), as ONE row: an array and a time instead of a row per purchase to
 * parse. The CHECK refuses any oversell.
 */
export async function writePurchases(tx: TransactionSql, rows: NewPurchaseRow[]): Promise<InsertedPurchases> {
  if (rows.length === 0) return { keys: new Set(), decidedAt: new Date(0) };
  const col = <K extends keyof NewPurchaseRow>(k: K) => rows.map((r) => r[k]);
  const [inserted] = await tx<{ keys: string[] | null; decidedAt: Date }[]>`
    with ins as (
      insert into purchases (id, idempotency_key, event_id, tier_id, buyer_id, quantity, status, reason, request_id,
                             accepted_at, bucket)
      select * from unnest(
        ${col('id')}::uuid[], ${col('idempotencyKey')}::text[], ${col('eventId')}::uuid[], ${col('tierId')}::uuid[],
        ${col('buyerId')}::text[], ${col('quantity')}::int[], ${col('status')}::text[], ${col('reason')}::text[],
        ${col('requestId')}::text[], ${col('acceptedAt')}::timestamptz[], ${col('bucket')}::smallint[])
      on conflict (idempotency_key) do nothing
      returning idempotency_key, tier_id, quantity, status, bucket
    ), delta as (
      select tier_id, bucket, sum(quantity)::int as n from ins where status = 'confirmed' group by tier_id, bucket
    ), sold as (
      update tiers t set sold = t.sold + d.n
      from (select tier_id, sum(n)::int as n from delta group by tier_id) d
      where t.id = d.tier_id and t.buckets = 1
    ), bucket_sold as (
      update tier_buckets b set sold = b.sold + d.n
      from delta d where b.tier_id = d.tier_id and b.bucket = d.bucket
    )
    select array_agg(idempotency_key) as keys, now() as "decidedAt" from ins`;
  return { keys: new Set(inserted!.keys ?? []), decidedAt: inserted!.decidedAt };
}

/** What writePurchases inserted: the idempotency keys, all decided at the one time of their transaction. */
export interface InsertedPurchases {
  keys: Set<string>;
  decidedAt: Date;
}

/** The key of a buyer's running count within an event. */
export function buyerKey(eventId: string, buyerId: string): string {
  return `${eventId}|${buyerId}`;
}
