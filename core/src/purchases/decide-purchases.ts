import type { Sql, TransactionSql } from '../db/sql.js';
import { type Payment, type Plan, planBatch } from './plan-batch.js';
import type { PurchaseMessage } from './purchase-message.js';
import {
  bucketKey,
  buyerKey,
  confirmedByBuyer,
  findByKeys,
  type InsertedPurchases,
  lockBuckets,
  lockBuyers,
  lockTiers,
  moveCapacity,
  type NewPurchaseRow,
  type StoredPurchase,
  writePurchases,
} from './purchase-store.js';
import type { DecidedStatus, RejectionReason } from './purchase-vocabulary.js';

export type { Payment } from './plan-batch.js';

/** A purchase with its final status. `duplicate` when it was decided before (redelivery, retried key). */
export interface DecidedPurchase {
  kind: 'decided';
  message: PurchaseMessage;
  purchaseId: string;
  status: DecidedStatus;
  reason: RejectionReason | null;
  duplicate: boolean;
  decidedAt: string;
}

/** A message that can never be decided; nothing was written for it. */
export interface PoisonPurchase {
  kind: 'poison';
  message: PurchaseMessage;
  reason: 'unknown_tier';
  detail: string;
}

export type Decision = DecidedPurchase | PoisonPurchase;

export interface DecideOptions {
  /** Tickets one buyer may hold per event (confirmed in Postgres plus earlier in this batch). */
  buyerLimit: number;
  /** Runs for each would-be confirmation before commit; false rejects it `payment_failed`. */
  payment?: Payment;
}

/**
 * Decides a batch of purchases and returns a decision per message, in message order, in
 * ONE Postgres transaction, or two when a bucket runs short (below). Tiers are locked in
 * id order, buckets after them, buyers last; purchases already stored under a message's
 * idempotency key are answered from the row (nothing new written); the stock is decided
 * in memory and written in bulk, and `sold` only grows by rows really inserted. The
 * `sold <= capacity` CHECKs make oversell impossible even if this code were wrong. Knows
 * nothing of the broker: the synchronous baseline calls it inside a request with a batch of one.
 *
 * A split tier's batches lock only their own bucket rows (and the tier `FOR SHARE`), so the
 * K buckets of a hot tier are decided in parallel. A message whose bucket has too little
 * left is not refused there: after that commit it is decided again in a spill, which locks
 * its tiers `FOR UPDATE` (waiting for every batch of their buckets) and moves free
 * capacity from the other buckets into its own (plan-batch.ts, drawsFor). So nobody is
 * refused `sold_out` while the tier has stock.
 */
export async function decidePurchases(
  sql: Sql,
  messages: PurchaseMessage[],
  options: DecideOptions,
): Promise<Decision[]> {
  if (messages.length === 0) return [];
  const first = await decideInOneTransaction(sql, messages, options, false);
  const spilled = messages.filter((_, i) => first[i] === null);
  if (spilled.length === 0) return first as Decision[];
  const second = await decideInOneTransaction(sql, spilled, options, true);
  let next = 0;
  return first.map((d) => d ?? (second[next++] as Decision));
}

/** One transaction of decidePurchases; null for a message left to the spill (never in a spill). */
async function decideInOneTransaction(
  sql: Sql,
  messages: PurchaseMessage[],
  options: DecideOptions,
  spill: boolean,
): Promise<(Decision | null)[]> {
  const pairs = distinctBuyers(messages);
  const tierIds = [...new Set(messages.map((m) => m.tierId))];
  return sql.begin(async (tx) => {
    // Sent together, run in this order: tier locks, bucket locks, buyer locks, then the reads
    // under them. One round trip instead of five; each waits for the locks before it, server side.
    const [tiers, buckets, , existing, bought] = await Promise.all([
      lockTiers(tx, tierIds, spill),
      lockBuckets(tx, spill ? tierIds.map((tierId) => ({ tierId, bucket: null })) : distinctBuckets(messages)),
      lockBuyers(tx, pairs),
      findByKeys(tx, [...new Set(messages.map((m) => m.idempotencyKey))]),
      confirmedByBuyer(tx, pairs),
    ]);
    const plans = await planBatch(
      messages,
      { tiers, buckets, spill, existing, bought, buyerLimit: options.buyerLimit },
      options.payment,
    );
    const left = plans.map((p) => p.kind === 'spill' || (p.kind === 'repeat' && plans[p.of]!.kind === 'spill'));

    await moveCapacity(tx, capacityMoves(messages, plans));
    const rows = messages.flatMap((m, i) => (plans[i]!.kind === 'new' ? [toRow(m, plans[i] as NewPlan)] : []));
    const { inserted, winners } = await writeOrFindWinners(tx, rows);

    const decisions: (Decision | null)[] = [];
    messages.forEach((m, i) => {
      decisions.push(left[i] ? null : toDecision(m, plans[i]!, decisions as Decision[], inserted, winners));
    });
    return decisions;
  }) as Promise<(Decision | null)[]>;
}

/** The capacity a spill's confirmations draw, summed per bucket (an UPDATE moves a row once). */
function capacityMoves(messages: PurchaseMessage[], plans: Plan[]) {
  const moves = new Map<string, { tierId: string; bucket: number; delta: number }>();
  const add = (tierId: string, bucket: number, delta: number) => {
    const key = bucketKey(tierId, bucket);
    const move = moves.get(key) ?? { tierId, bucket, delta: 0 };
    move.delta += delta;
    moves.set(key, move);
  };
  plans.forEach((p, i) => {
    if (p.kind !== 'new' || !p.draws) return;
    for (const d of p.draws) {
      add(messages[i]!.tierId, d.from, -d.n);
      add(messages[i]!.tierId, p.bucket, d.n);
    }
  });
  return [...moves.values()].filter((m) => m.delta !== 0);
}

/**
 * Rejects purchases for a reason outside the batch's rules (the worker gives up on one
 * whose message never reached the queue twice), in one transaction: rows written
 * `rejected`, unless a purchase was decided meanwhile, which is then answered from its row.
 * Takes no stock, so it locks nothing.
 */
export async function rejectPurchases(
  sql: Sql,
  messages: PurchaseMessage[],
  reason: RejectionReason,
): Promise<DecidedPurchase[]> {
  if (messages.length === 0) return [];
  return sql.begin(async (tx) => {
    const plan: NewPlan = { kind: 'new', status: 'rejected', reason, bucket: 0 };
    const { inserted, winners } = await writeOrFindWinners(
      tx,
      messages.map((m) => toRow(m, { ...plan, bucket: m.bucket ?? 0 })),
    );
    return messages.map((m) => toDecision(m, plan, [], inserted, winners) as DecidedPurchase);
  }) as Promise<DecidedPurchase[]>;
}

type NewPlan = Extract<Plan, { kind: 'new' }>;

/**
 * Writes the rows; a key a concurrent transaction stored first (DO NOTHING skipped ours)
 * is answered from that transaction's row, its winner.
 */
async function writeOrFindWinners(tx: TransactionSql, rows: NewPurchaseRow[]) {
  const inserted = await writePurchases(tx, rows);
  const lostKeys = rows.filter((r) => !inserted.keys.has(r.idempotencyKey)).map((r) => r.idempotencyKey);
  const winners = lostKeys.length > 0 ? await findByKeys(tx, lostKeys) : new Map<string, StoredPurchase>();
  return { inserted, winners };
}

function toRow(m: PurchaseMessage, plan: NewPlan): NewPurchaseRow {
  return {
    id: m.purchaseId,
    idempotencyKey: m.idempotencyKey,
    eventId: m.eventId,
    tierId: m.tierId,
    buyerId: m.buyerId,
    quantity: m.quantity,
    status: plan.status,
    reason: plan.reason,
    requestId: m.requestId ?? null,
    acceptedAt: m.acceptedAt,
    bucket: plan.bucket,
  };
}

function toDecision(
  m: PurchaseMessage,
  plan: Plan,
  earlier: Decision[],
  inserted: InsertedPurchases,
  winners: Map<string, StoredPurchase>,
): Decision {
  switch (plan.kind) {
    case 'existing':
      return decisionOfRow(m, plan.stored);
    case 'repeat': {
      const first = earlier[plan.of]!;
      return first.kind === 'poison' ? { ...first, message: m } : { ...first, message: m, duplicate: true };
    }
    case 'poison':
      return { kind: 'poison', message: m, reason: 'unknown_tier', detail: plan.detail };
    case 'spill':
      throw new Error(`purchase ${m.purchaseId} left to a spill was decided`);
    case 'new': {
      if (inserted.keys.has(m.idempotencyKey)) {
        return {
          kind: 'decided',
          message: m,
          purchaseId: m.purchaseId,
          status: plan.status,
          reason: plan.reason,
          duplicate: false,
          decidedAt: inserted.decidedAt.toISOString(),
        };
      }
      const winner = winners.get(m.idempotencyKey);
      if (!winner) throw new Error(`purchase ${m.purchaseId} was neither inserted nor found by its idempotency key`);
      return decisionOfRow(m, winner);
    }
  }
}

/** The decision a stored row gives a message of its purchase (a redelivery, a retried key, a lost settle). */
export function decisionOfRow(m: PurchaseMessage, s: StoredPurchase): DecidedPurchase {
  return {
    kind: 'decided',
    message: m,
    purchaseId: s.id,
    status: s.status,
    reason: s.reason,
    duplicate: true,
    decidedAt: s.decidedAt.toISOString(),
  };
}

/** The (tier, bucket) pairs the messages ask for, each once. */
function distinctBuckets(messages: PurchaseMessage[]): { tierId: string; bucket: number }[] {
  const seen = new Map<string, { tierId: string; bucket: number }>();
  for (const m of messages) seen.set(bucketKey(m.tierId, m.bucket ?? 0), { tierId: m.tierId, bucket: m.bucket ?? 0 });
  return [...seen.values()];
}

function distinctBuyers(messages: PurchaseMessage[]): { eventId: string; buyerId: string }[] {
  const seen = new Map<string, { eventId: string; buyerId: string }>();
  for (const m of messages) seen.set(buyerKey(m.eventId, m.buyerId), { eventId: m.eventId, buyerId: m.buyerId });
  return [...seen.values()];
}
