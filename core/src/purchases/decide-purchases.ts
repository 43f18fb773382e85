import type { Sql, TransactionSql } from '../db/sql.js';
import { type Payment, type Plan, planBatch } from './plan-batch.js';
import type { PurchaseMessage } from './purchase-message.js';
import {
  buyerKey,
  confirmedByBuyer,
  findByKeys,
  lockBuyers,
  lockTiers,
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
 * Decides a batch of purchases in ONE Postgres transaction and returns a decision per
 * message, in message order. Tiers are locked in id order, buyers after them; purchases
 * already stored under a message's idempotency key are answered from the row (nothing new
 * written); the stock is decided in memory and written in bulk, and `sold` only grows by
 * rows really inserted. The `sold <= capacity` CHECK makes oversell impossible even if
 * this code were wrong. Knows nothing of the broker: the synchronous baseline calls it
 * inside a request with a batch of one.
 */
export async function decidePurchases(
  sql: Sql,
  messages: PurchaseMessage[],
  options: DecideOptions,
): Promise<Decision[]> {
  if (messages.length === 0) return [];
  const pairs = distinctBuyers(messages);
  return sql.begin(async (tx) => {
    // Sent together, run in this order: tier locks, buyer locks, then the reads under them.
    // One round trip instead of four; each waits for the locks before it, server side.
    const [tiers, , existing, bought] = await Promise.all([
      lockTiers(tx, [...new Set(messages.map((m) => m.tierId))]),
      lockBuyers(tx, pairs),
      findByKeys(tx, [...new Set(messages.map((m) => m.idempotencyKey))]),
      confirmedByBuyer(tx, pairs),
    ]);
    const plans = await planBatch(
      messages,
      { tiers, existing, bought, buyerLimit: options.buyerLimit },
      options.payment,
    );

    const rows = messages.flatMap((m, i) => (plans[i]!.kind === 'new' ? [toRow(m, plans[i] as NewPlan)] : []));
    const { inserted, winners } = await writeOrFindWinners(tx, rows);

    const decisions: Decision[] = [];
    messages.forEach((m, i) => {
      decisions.push(toDecision(m, plans[i]!, decisions, inserted, winners));
    });
    return decisions;
  });
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
    const plan: NewPlan = { kind: 'new', status: 'rejected', reason };
    const { inserted, winners } = await writeOrFindWinners(
      tx,
      messages.map((m) => toRow(m, plan)),
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
  const lostKeys = rows.filter((r) => !inserted.has(r.idempotencyKey)).map((r) => r.idempotencyKey);
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
  };
}

function toDecision(
  m: PurchaseMessage,
  plan: Plan,
  earlier: Decision[],
  inserted: Map<string, Date>,
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
    case 'new': {
      const decidedAt = inserted.get(m.idempotencyKey);
      if (decidedAt) {
        return {
          kind: 'decided',
          message: m,
          purchaseId: m.purchaseId,
          status: plan.status,
          reason: plan.reason,
          duplicate: false,
          decidedAt: decidedAt.toISOString(),
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

function distinctBuyers(messages: PurchaseMessage[]): { eventId: string; buyerId: string }[] {
  const seen = new Map<string, { eventId: string; buyerId: string }>();
  for (const m of messages) seen.set(buyerKey(m.eventId, m.buyerId), { eventId: m.eventId, buyerId: m.buyerId });
  return [...seen.values()];
}
