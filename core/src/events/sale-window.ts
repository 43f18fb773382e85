/** When an event sells: from `saleOpensAt`, until `saleClosesAt` when it has one. */
export interface SaleWindow {
  saleOpensAt: Date;
  saleClosesAt: Date | null;
}

/**
 * Where a moment falls in a sale window. The API asks it of now, before the gate; the
 * worker asks it of each purchase's acceptance time, under the event's lock, because the
 * replicas' catalogs may not know yet of a close Postgres has committed.
 */
export function saleStateAt(window: SaleWindow, atMs: number): 'open' | 'not_yet_open' | 'closed' {
  if (atMs < window.saleOpensAt.getTime()) return 'not_yet_open';
  if (window.saleClosesAt && atMs >= window.saleClosesAt.getTime()) return 'closed';
  return 'open';
}
