import { createExpiringSet } from './bounded-map.js';

/**
 * A per-replica note of tiers the gate just said, or the backplane announced, were sold
 * out. While a note is fresh the replica answers 409 without running the gate script; it
 * expires quickly because tickets come back (rejected payments, reconciliation).
 */
export function createSoldOutFlags(ttlMs = 1_000, capacity = 10_000) {
  const flags = createExpiringSet(ttlMs, capacity);
  return {
    isSoldOut: (tierId: string): boolean => flags.has(tierId),
    markSoldOut: (tierId: string): void => flags.add(tierId),
  };
}

export type SoldOutFlags = ReturnType<typeof createSoldOutFlags>;
