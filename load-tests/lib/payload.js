/**
 * Purchase requests: which tier, how many, the JSON body. Pure module, shared by k6 and Node.
 * Randomness comes in as numbers in [0, 1) so tests can pin it.
 */

import { BUYER_PATTERN } from './ids.js';

/** The API's own bound on tickets per purchase (and per buyer per event). */
export const API_MAX_QUANTITY = 6;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A tier picked with probability proportional to its capacity, as buyers spread over a
 * venue: the big cheap tiers take most of the traffic, the small VIP tier sells out first.
 * @param {{id: string, capacity: number}[]} tiers
 * @param {number} random a number in [0, 1)
 */
export function pickTier(tiers, random) {
  if (!tiers || tiers.length === 0) throw new Error('no tier to pick from');
  const total = tiers.reduce((n, t) => n + Math.max(0, t.capacity), 0);
  if (total <= 0) return tiers[Math.min(tiers.length - 1, Math.floor(random * tiers.length))];
  let point = random * total;
  for (const tier of tiers) {
    point -= Math.max(0, tier.capacity);
    if (point < 0) return tier;
  }
  return tiers[tiers.length - 1];
}

/**
 * 1..max tickets, uniformly.
 * @param {number} random a number in [0, 1)
 * @param {number} max at most API_MAX_QUANTITY
 */
export function pickQuantity(random, max) {
  const top = Math.max(1, Math.min(API_MAX_QUANTITY, Math.floor(max)));
  return Math.min(top, 1 + Math.floor(random * top));
}

/** The JSON body of POST /events/:id/purchases. */
export function purchaseBody({ tierId, quantity, buyerId }) {
  return JSON.stringify({ tierId, quantity, buyerId });
}

/**
 * What is wrong with a purchase body by the API contract (empty when valid). The scripts
 * never send a body that fails this, so every 4xx other than 409/429 is the server's fault.
 * @param {unknown} body the parsed body
 */
export function purchaseProblems(body) {
  const problems = [];
  if (!body || typeof body !== 'object' || Array.isArray(body)) return ['body is not an object'];
  const keys = Object.keys(body).sort().join(',');
  if (keys !== 'buyerId,quantity,tierId') problems.push(`members are ${keys}, expected buyerId,quantity,tierId`);
  if (typeof body.tierId !== 'string' || !UUID.test(body.tierId)) problems.push('tierId is not a UUID');
  if (!Number.isInteger(body.quantity) || body.quantity < 1 || body.quantity > API_MAX_QUANTITY)
    problems.push('quantity is not 1..6');
  if (typeof body.buyerId !== 'string' || !BUYER_PATTERN.test(body.buyerId))
    problems.push('buyerId is not 1..64 letters, digits or _.@:+-');
  return problems;
}

/** The tiers of a GET /events/:id answer, reduced to what the scripts need. */
export function tiersOf(event) {
  const tiers = event && Array.isArray(event.tiers) ? event.tiers : [];
  return tiers.map((t) => ({ id: t.id, name: t.name, capacity: t.capacity, sold: t.sold }));
}
