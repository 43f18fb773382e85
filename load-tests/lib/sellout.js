/**
 * The logic of sellout.js, pure so it is tested in Node: which tier a buyer tries next
 * while some are left, and the final inventory check. Shared by k6 and Node.
 */

import { pickQuantity, pickTier } from './payload.js';

/**
 * One VU's view of what is left to buy. A 409 sold_out for 3 tickets does not mean the
 * tier is empty (1 or 2 may be left), so the tier then takes single tickets, and only a
 * sold_out for 1 ticket closes it; otherwise a sell-out run would leave crumbs unsold.
 * @param {{id: string, capacity: number}[]} tiers
 * @param {number} maxQuantity
 */
export function createSelloutPlan(tiers, maxQuantity) {
  /** @type {Map<string, 'open'|'single'|'out'>} */
  const state = new Map(tiers.map((t) => [t.id, 'open']));
  return {
    /** The next purchase to try, or null when this VU saw every tier sold out. */
    next(randomTier, randomQuantity) {
      const left = tiers.filter((t) => state.get(t.id) !== 'out');
      if (left.length === 0) return null;
      const tier = pickTier(left, randomTier);
      const quantity = state.get(tier.id) === 'single' ? 1 : pickQuantity(randomQuantity, maxQuantity);
      return { tier, quantity };
    },
    /** Learns from the answer to a purchase of `quantity` tickets of `tierId`. */
    observe(tierId, quantity, outcome) {
      if (outcome === 'sold_out') state.set(tierId, quantity > 1 ? 'single' : 'out');
    },
    /** Tickets came back (a rejected purchase): tiers with some remaining are tried again. */
    reopen(availabilityTiers) {
      for (const t of availabilityTiers) {
        if (state.has(t.tierId) && t.remaining > 0) state.set(t.tierId, t.remaining >= maxQuantity ? 'open' : 'single');
      }
    },
    stateOf: (tierId) => state.get(tierId),
  };
}

/**
 * The inventory as the API tells it: GET /events/:id (capacity and sold, from Postgres)
 * joined with GET /events/:id/availability (remaining, as buyers see it).
 * - oversold: tickets sold beyond capacity (must be 0);
 * - mismatch: |capacity − remaining − sold| summed over tiers (0 once the reads agree;
 *   a tier missing from availability counts its whole capacity).
 * @param {{id: string, name?: string, capacity: number, sold: number}[]} eventTiers
 * @param {{tierId: string, remaining: number}[]} availabilityTiers
 */
export function inventory(eventTiers, availabilityTiers) {
  const remainingOf = new Map(availabilityTiers.map((t) => [t.tierId, t.remaining]));
  const tiers = eventTiers.map((t) => {
    const remaining = remainingOf.get(t.id);
    return {
      id: t.id,
      name: t.name,
      capacity: t.capacity,
      sold: t.sold,
      remaining,
      oversold: Math.max(0, t.sold - t.capacity),
      mismatch: remaining === undefined ? t.capacity : Math.abs(t.capacity - remaining - t.sold),
    };
  });
  const sum = (field) => tiers.reduce((n, t) => n + (t[field] ?? 0), 0);
  return {
    tiers,
    capacity: sum('capacity'),
    sold: sum('sold'),
    remaining: sum('remaining'),
    oversold: sum('oversold'),
    mismatch: sum('mismatch'),
    soldOut: tiers.length > 0 && tiers.every((t) => t.remaining === 0),
  };
}
