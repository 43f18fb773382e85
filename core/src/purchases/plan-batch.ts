import { saleStateAt } from '../events/sale-window.js';
import { bucketOf, type PurchaseMessage } from './purchase-message.js';
import { bucketKey, buyerKey, type LockedBucket, type LockedTier, type StoredPurchase } from './purchase-store.js';
import type { DecidedStatus, RejectionReason } from './purchase-vocabulary.js';

/** What the batch decided for one message, before anything is written. */
export type Plan =
  /** Already decided in Postgres: answer from the row. */
  | { kind: 'existing'; stored: StoredPurchase }
  /** The same key earlier in this batch: answer as that message was answered. */
  | { kind: 'repeat'; of: number }
  /** Can never be decided (the tier is not a tier of this event). */
  | { kind: 'poison'; detail: string }
  /** Its bucket has too little left: decided again with the whole tier locked (a spill). */
  | { kind: 'spill' }
  /**
   * `bucket`: whose stock it takes (0 for a tier that is not split); `draws`: free
   * capacity a spill moves into that bucket from others first.
   */
  | {
      kind: 'new';
      status: DecidedStatus;
      reason: RejectionReason | null;
      bucket: number;
      draws?: { from: number; n: number }[];
    };

/** What Postgres says, read under the batch's locks. */
export interface BatchState {
  tiers: Map<string, LockedTier>;
  /** The locked bucket rows of split tiers, by bucketKey: the messages' own, or in a spill all of them. */
  buckets: Map<string, LockedBucket>;
  /** A spill: a bucket short of stock draws on the other buckets of its tier. */
  spill?: boolean;
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
  // What is left, by tier id (a tier that is not split) or bucketKey (a bucket).
  const remaining = new Map([...state.tiers.values()].map((t) => [t.id, t.capacity - t.sold]));
  for (const [key, b] of state.buckets) remaining.set(key, b.capacity - b.sold);
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
    const bucket = bucketOf(m, tier.buckets);
    if (saleStateAt(tier, Date.parse(m.acceptedAt)) !== 'open')
      return { kind: 'new', status: 'rejected', reason: 'sale_not_open', bucket };
    const key = buyerKey(m.eventId, m.buyerId);
    const already = bought.get(key) ?? 0;
    if (already + m.quantity > state.buyerLimit)
      return { kind: 'new', status: 'rejected', reason: 'limit_exceeded', bucket };
    const stockKey = tier.buckets > 1 ? bucketKey(tier.id, bucket) : tier.id;
    const left = remaining.get(stockKey) ?? 0;
    const draws = m.quantity > left && tier.buckets > 1 && state.spill ? drawsFor(tier, bucket, m.quantity - left) : [];
    if (m.quantity > left && tier.buckets > 1 && !state.spill) return { kind: 'spill' };
    if (m.quantity > left + draws.reduce((n, d) => n + d.n, 0))
      return { kind: 'new', status: 'rejected', reason: 'sold_out', bucket };
    if (paid.get(m.idempotencyKey) === false)
      return { kind: 'new', status: 'rejected', reason: 'payment_failed', bucket };
    for (const d of draws)
      remaining.set(bucketKey(tier.id, d.from), (remaining.get(bucketKey(tier.id, d.from)) ?? 0) - d.n);
    remaining.set(stockKey, left + draws.reduce((n, d) => n + d.n, 0) - m.quantity);
    bought.set(key, already + m.quantity);
    return { kind: 'new', status: 'confirmed', reason: null, bucket, ...(draws.length > 0 ? { draws } : {}) };
  });

  /**
   * The rebalancing rule: a bucket short of `short` tickets takes them from the other
   * buckets of its tier in bucket order, each giving what it has left, so a buyer is
   * refused only when the whole tier is short. Nothing is taken when even that is not enough.
   */
  function drawsFor(tier: LockedTier, bucket: number, short: number): { from: number; n: number }[] {
    const draws: { from: number; n: number }[] = [];
    let need = short;
    for (let b = 0; b < tier.buckets && need > 0; b++) {
      if (b === bucket) continue;
      const n = Math.min(need, Math.max(0, remaining.get(bucketKey(tier.id, b)) ?? 0));
      if (n > 0) draws.push({ from: b, n });
      need -= n;
    }
    return need > 0 ? [] : draws;
  }
}
