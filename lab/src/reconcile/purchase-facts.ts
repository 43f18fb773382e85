import type { Sql } from '@stampede/core/db';
import { type DecidedStatus, isPurchaseIdOf } from '@stampede/core/purchases';

/** Ids per query: big enough for few round trips, small enough for one bind parameter. */
const CHUNK = 5_000;

/** A decided purchase, as much of it as the reconciliation needs. */
export interface DecidedRow {
  id: string;
  idempotencyKey: string;
  eventId: string;
  status: DecidedStatus;
  reason: string | null;
}

function chunks<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}

/** The subset of `ids` that Postgres has a decision for (any row is final: confirmed or rejected). */
export async function decidedIds(sql: Sql, ids: string[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (const part of chunks(ids)) {
    const rows = await sql<{ id: string }[]>`select id from purchases where id = any(${part}::uuid[])`;
    for (const r of rows) found.add(r.id);
  }
  return found;
}

/** Which of these Idempotency-Keys have a purchase row (decided), whatever event it belongs to. */
export async function decidedKeys(sql: Sql, idempotencyKeys: string[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (const part of chunks(idempotencyKeys)) {
    const rows = await sql<{ key: string }[]>`
      select idempotency_key as key from purchases where idempotency_key = any(${part}::text[])`;
    for (const r of rows) found.add(r.key);
  }
  return found;
}

/** The rows of the given purchase ids, whatever event they belong to. */
export async function rowsOf(sql: Sql, ids: string[]): Promise<DecidedRow[]> {
  const out: DecidedRow[] = [];
  for (const part of chunks(ids)) {
    out.push(
      ...(await sql<DecidedRow[]>`
      select id, idempotency_key as "idempotencyKey", event_id as "eventId", status, reason
      from purchases where id = any(${part}::uuid[])`),
    );
  }
  return out;
}

export interface Outcomes {
  confirmed: number;
  rejected: number;
  rejectedByReason: Record<string, number>;
}

/** Counts confirmed and rejected purchases (by reason) of some rows; `n` weighs a grouped row. */
export function countOutcomes(rows: (Pick<DecidedRow, 'status' | 'reason'> & { n?: number })[]): Outcomes {
  const out: Outcomes = { confirmed: 0, rejected: 0, rejectedByReason: {} };
  for (const r of rows) {
    const n = r.n ?? 1;
    if (r.status === 'confirmed') out.confirmed += n;
    else {
      out.rejected += n;
      const reason = r.reason ?? 'unknown';
      out.rejectedByReason[reason] = (out.rejectedByReason[reason] ?? 0) + n;
    }
  }
  return out;
}

/** Outcomes of every purchase of the event (or of every event), counted in Postgres. */
export async function scopeOutcomes(sql: Sql, eventId: string | undefined): Promise<Outcomes> {
  const groups = await sql<{ status: DecidedStatus; reason: string | null; n: number }[]>`
    select status, reason, count(*)::int as n from purchases
    ${eventId ? sql`where event_id = ${eventId}` : sql``}
    group by status, reason`;
  return countOutcomes(groups);
}

export interface Duplicates {
  /** Rows beyond the first for one idempotency key (the unique constraint should make it 0). */
  sameKey: number;
  /** Rows beyond the first for one purchase id (the primary key should make it 0). */
  sameId: number;
  /** Rows whose id is not the id derived from their idempotency key. */
  idMismatch: number;
}

/**
 * Measures duplicates over the purchases of the scope plus the accepted rows (which may
 * belong to other events), although the constraints should make every figure 0: the
 * reconciliation checks the outcome, not the design.
 */
export async function findDuplicates(
  sql: Sql,
  eventId: string | undefined,
  accepted: DecidedRow[],
): Promise<Duplicates> {
  const perKey = new Map<string, number>();
  const perId = new Map<string, number>();
  let idMismatch = 0;
  const see = (r: { id: string; idempotencyKey: string }) => {
    perKey.set(r.idempotencyKey, (perKey.get(r.idempotencyKey) ?? 0) + 1);
    perId.set(r.id, (perId.get(r.id) ?? 0) + 1);
    if (!isPurchaseIdOf(r.idempotencyKey, r.id)) idMismatch += 1;
  };
  await sql<{ id: string; idempotencyKey: string }[]>`
    select id, idempotency_key as "idempotencyKey" from purchases
    ${eventId ? sql`where event_id = ${eventId}` : sql``}`.cursor(CHUNK, (rows) => {
    rows.forEach(see);
  });
  for (const r of accepted) if (eventId && r.eventId !== eventId) see(r);
  // An accepted purchase's key could also sit on a row outside the scope: count those too.
  for (const part of chunks([...new Set(accepted.map((r) => r.idempotencyKey))])) {
    const shared = await sql<{ key: string; n: number }[]>`
      select idempotency_key as key, count(*)::int as n from purchases
      where idempotency_key = any(${part}::text[]) group by idempotency_key having count(*) > 1`;
    for (const s of shared) perKey.set(s.key, Math.max(perKey.get(s.key) ?? 0, s.n));
  }
  const beyondFirst = (m: Map<string, number>) => [...m.values()].reduce((n, c) => n + Math.max(0, c - 1), 0);
  return { sameKey: beyondFirst(perKey), sameId: beyondFirst(perId), idMismatch };
}
