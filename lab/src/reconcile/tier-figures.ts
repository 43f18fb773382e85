/** What Postgres and the gate say about one tier, as the reconciliation reads them. */
export interface TierFacts {
  tierId: string;
  eventId: string;
  name: string;
  capacity: number;
  /** tiers.sold: the counter the worker's conditional update moves. */
  sold: number;
  /** Sum of the quantities of the tier's confirmed purchase rows. */
  confirmed: number;
  /** The gate's stock key; null when the key is absent (the gate is not primed for this tier). */
  stock: number | null;
  /** Tickets in the gate's held hash (taken, not yet settled by the worker). */
  held: number;
}

/** The figures of one tier. Every count is in tickets. */
export interface TierFigures extends TierFacts {
  /** Confirmed tickets beyond capacity. */
  oversold: number;
  /** |sold − confirmed|: a decrement done twice or lost, a bug even under capacity. */
  soldMismatch: number;
  /** Tickets neither sold, nor offered by the gate, nor held: stuck. Null when not measured. */
  undersold: number | null;
  /** Tickets the gate offers beyond what is left (e.g. after ungated sales); Postgres still refuses them. */
  gateOverOffer: number | null;
}

/**
 * The invariant arithmetic of one tier. `gateMeasured` is false when Redis could not be
 * read or the queue was not drained: undersold only means something once nothing is in
 * flight, and an unprimed tier (no stock key) is not stuck, the gate primes it from
 * Postgres on the next purchase.
 */
export function tierFigures(t: TierFacts, gateMeasured: boolean): TierFigures {
  const left = t.capacity - t.sold;
  const gateKnows = gateMeasured && t.stock !== null;
  const offeredOrHeld = (t.stock ?? 0) + t.held;
  return {
    ...t,
    oversold: Math.max(0, t.confirmed - t.capacity),
    soldMismatch: Math.abs(t.sold - t.confirmed),
    undersold: !gateMeasured ? null : gateKnows ? Math.max(0, left - offeredOrHeld) : 0,
    gateOverOffer: !gateMeasured ? null : gateKnows ? Math.max(0, offeredOrHeld - left) : 0,
  };
}

/** Sums one figure over tiers; null when any tier did not measure it. */
export function sumFigure(
  tiers: TierFigures[],
  figure: 'oversold' | 'soldMismatch' | 'undersold' | 'gateOverOffer',
): number | null {
  let total = 0;
  for (const t of tiers) {
    const v = t[figure];
    if (v === null) return null;
    total += v;
  }
  return total;
}

/** The figures that must be zero after any run, in the order the verdict names them. */
export const MUST_BE_ZERO = ['oversold', 'soldMismatch', 'lost', 'duplicated', 'undersold'] as const;
export type MustBeZero = (typeof MUST_BE_ZERO)[number];

export interface Verdict {
  pass: boolean;
  /** e.g. `lost=3`, `not drained (queued=12)`. */
  failures: string[];
}

/**
 * PASS when every measured must-be-zero figure is 0 and the queue drained. A figure
 * that could not be measured (null) does not fail the run, but the report says so;
 * dead-lettered messages are listed apart (a poison message is not an invariant breach).
 */
export function verdictOf(
  figures: Record<MustBeZero, number | null> & { drained: boolean | null; queued: number | null },
): Verdict {
  const failures: string[] = MUST_BE_ZERO.filter((f) => (figures[f] ?? 0) !== 0).map((f) => `${f}=${figures[f]}`);
  if (figures.drained === false) failures.push(`not drained (queued=${figures.queued})`);
  return { pass: failures.length === 0, failures };
}
