/**
 * A per-replica note of tiers the gate just said were sold out. While a note is fresh
 * the replica answers 409 without running the gate script; it expires quickly because
 * tickets come back (rejected payments, reconciliation).
 */
export function createSoldOutFlags(ttlMs = 1_000) {
  const until = new Map<string, number>();
  return {
    isSoldOut(tierId: string): boolean {
      const t = until.get(tierId);
      if (t === undefined) return false;
      if (t > Date.now()) return true;
      until.delete(tierId);
      return false;
    },
    markSoldOut(tierId: string): void {
      until.set(tierId, Date.now() + ttlMs);
    },
  };
}

export type SoldOutFlags = ReturnType<typeof createSoldOutFlags>;
