import { AppError } from '@stampede/core/errors';
import { saleStateAt, type TierRow } from '@stampede/core/events';
import type { Catalog } from './catalog.js';

/**
 * Checks what can be checked before the gate: the event exists, the tier is one of its
 * tiers, and the sale is open now. Returns the tier (for priming the gate).
 */
export async function assertPurchasable(catalog: Catalog, r: { eventId: string; tierId: string }): Promise<TierRow> {
  let event: Awaited<ReturnType<Catalog['event']>>;
  try {
    event = await catalog.event(r.eventId);
  } catch (err) {
    throw new AppError('data_unavailable', 'The event cannot be read now; retry shortly.', {
      cause: err,
      headers: { 'Retry-After': '1' },
    });
  }
  if (!event) throw new AppError('event_not_found', `Event ${r.eventId} does not exist.`);
  const tier = event.tiers.find((t) => t.id === r.tierId);
  if (!tier) throw new AppError('tier_not_found', `Tier ${r.tierId} is not a tier of event ${r.eventId}.`);
  const state = saleStateAt(event, Date.now());
  if (state === 'not_yet_open') {
    throw new AppError('sale_not_open', `The sale opens at ${event.saleOpensAt.toISOString()}.`, {
      extensions: { saleOpensAt: event.saleOpensAt.toISOString() },
    });
  }
  if (state === 'closed' && event.saleClosesAt) {
    throw new AppError('sale_not_open', `The sale closed at ${event.saleClosesAt.toISOString()}.`, {
      extensions: { saleClosesAt: event.saleClosesAt.toISOString() },
    });
  }
  return tier;
}
