import { saleStateAt } from '../events/sale-window.js';
import type { PurchaseMessage } from './purchase-message.js';
import { buyerKey, type LockedTier, type StoredPurchase } from './purchase-store.js';
import type { DecidedStatus, RejectionReason } from './purchase-vocabulary.js';

/** What the batch decided for one message, before anything is written. */
export type Plan =
  /** Already decided in Postgres: answer from the row. */
  | { kind: 'existing'; stored: StoredPurchase }
  /** The same key earlier in this batch: answer as that message was answered. */
  | { kind: 'repeat'; of: number }
  /** Can never be decided (the tier is not a tier of this event). */
  | { kind: 'poison'; detail: string }
  | { kind: 'new'; status: DecidedStatus; reason: RejectionReason | null };

/** What Postgres says, read under the batch's locks. */
export interface BatchState {
  tiers: Map<string, LockedTier>;
  existing: Map<string, StoredPurchase>;
  /** Confirmed tickets per buyerKey(eventId, buyerId). */
  bought: Map<string, number>;
  buyerLimit: number;
}

/** The simulated (or real) payment: resolves true when the buyer paid. */
export type Payment = (m: PurchaseMessage) => Promise<boolean>;

/**
 * Decides every message of a batch in memory, in message order: duplicates first, then
 * the tier, the sale window at the purchase's acceptance, the buyer's limit, the stock. With a payment step, would-be confirmations
 * are charged (in parallel) and the batch is decided again knowing who failed to pay, so
 * a failed payment's tickets go to the next buyer in line instead of being lost to the
 * batch. Each message is charged at most once; the loop ends when nobody new needs to pay.
 */
export async function planBatch(messages: PurchaseMessage[], state: BatchState, payment?: Payment): Promise<Plan[]> {
  const paid = new Map<string, boolean>();
  for (;;) {
    const plans = planOnce(messages, state, paid);
    if (!payment) return plans;
    const unpaid = messages.filter((m, i) => {
      const p = plans[i]!;
      return p.kind === 'new' && p.status === 'confirmed' && !paid.has(m.idempotencyKey);
    });
    if (unpaid.length === 0) return plans;
    const results = await Promise.all(unpaid.map((m) => payment(m)));
    unpaid.forEach((m, i) => {
      paid.set(m.idempotencyKey, results[i]!);
    });
  }
}

function planOnce(messages: PurchaseMessage[], state: BatchState, paid: Map<string, boolean>): Plan[] {
  const remaining = new Map([...state.tiers.values()].map((t) => [t.id, t.capacity - t.sold]));
  const bought = new Map(state.bought);
  const firstIndex = new Map<string, number>();
  return messages.map((m, i): Plan => {
    const stored = state.existing.get(m.idempotencyKey);
    if (stored) return { kind: 'existing', stored };
    const first = firstIndex.get(m.idempotencyKey);
    if (first !== undefined) return { kind: 'repeat', of: first };
    firstIndex.set(m.idempotencyKey, i);

    const tier = state.tiers.get(m.tierId);
    if (!tier || tier.eventId !== m.eventId)
      return { kind: 'poison', detail: `tier ${m.tierId} is not a tier of event ${m.eventId}` };
    if (saleStateAt(tier, Date.parse(m.acceptedAt)) !== 'open')
      return { kind: 'new', status: 'rejected', reason: 'sale_not_open' };
    const key = buyerKey(m.eventId, m.buyerId);
    const already = bought.get(key) ?? 0;
    if (already + m.quantity > state.buyerLimit) return { kind: 'new', status: 'rejected', reason: 'limit_exceeded' };
    const left = remaining.get(tier.id) ?? 0;
    if (m.quantity > left) return { kind: 'new', status: 'rejected', reason: 'sold_out' };
    if (paid.get(m.idempotencyKey) === false) return { kind: 'new', status: 'rejected', reason: 'payment_failed' };
    remaining.set(tier.id, left - m.quantity);
    bought.set(key, already + m.quantity);
    return { kind: 'new', status: 'confirmed', reason: null };
  });
}
