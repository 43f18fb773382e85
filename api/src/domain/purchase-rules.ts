import { AppError } from '@stampede/core/errors';
import { type EventWithTiers, saleStateAt, type TierRow } from '@stampede/core/events';
import type { Catalog } from './catalog.js';

/**
 * Checks what can be checked before the gate: the event exists, the tier is one of its
 * tiers, and the sale is open now. Returns the tier (for priming the gate).
 */
export async function assertPurchasable(catalog: Catalog, r: { eventId: string; tierId: string }): Promise<TierRow> {
  return purchasableTier(await loadEvent(catalog, r.eventId), r);
}

/**
 * The same check without waiting, when the catalog holds the event (nearly every purchase
 * of a sale); undefined when it must be read first. A sold-out answer is a handful of
 * steps, so the two promise turns of the async check were worth saving.
 */
export function purchasableNow(catalog: Catalog, r: { eventId: string; tierId: string }): TierRow | undefined {
  const event = catalog.held(r.eventId);
  return event === undefined ? undefined : purchasableTier(event, r);
}

async function loadEvent(catalog: Catalog, eventId: string): Promise<EventWithTiers | undefined> {
  try {
    return await catalog.event(eventId);
  } catch (err) {
    throw new AppError('data_unavailable', 'The event cannot be read now; retry shortly.', {
      cause: err,
      headers: { 'Retry-After': '1' },
    });
  }
}

function purchasableTier(event: EventWithTiers | undefined, r: { eventId: string; tierId: string }): TierRow {
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
