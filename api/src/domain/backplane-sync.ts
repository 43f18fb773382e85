import type { BackplaneSubscriber } from '@stampede/core/backplane';
import type { AvailabilityService } from './availability-service.js';
import type { Catalog } from './catalog.js';
import type { SoldOutFlags } from './sold-out-flags.js';

/** What a replica keeps in memory, and so what the backplane keeps in step. */
export interface ReplicaMemory {
  catalog: Catalog;
  availability: AvailabilityService;
  soldOut: SoldOutFlags;
}

/**
 * Applies every backplane message to this replica's memory as it arrives: an admin
 * change to the catalog entry (a sale window in place, without a query), a committed
 * batch to the in-memory availability, a sold-out tier to the sold-out flags. Each time
 * the subscription is (re)established, messages may have been missed, so the in-memory
 * availability is dropped and every catalog entry read again. Returns
 * the unsubscribe.
 */
export function followBackplane(backplane: BackplaneSubscriber, memory: ReplicaMemory): () => void {
  const { catalog, availability, soldOut } = memory;
  const stops = [
    backplane.on('event_changed', (m) => {
      if (m.change === 'created') {
        catalog.drop(m.eventId);
        availability.drop(m.eventId);
      } else
        catalog.applySaleWindow(m.eventId, new Date(m.saleOpensAt), m.saleClosesAt ? new Date(m.saleClosesAt) : null);
    }),
    backplane.on('availability_changed', (m) => {
      for (const { eventId, entry } of m.events) {
        if (entry) availability.apply(entry);
        else availability.drop(eventId);
      }
    }),
    backplane.on('sold_out', (m) => soldOut.markSoldOut(m.tierId)),
    backplane.onSubscribed(() => {
      availability.dropAll();
      catalog.refreshAll();
    }),
  ];
  return () => {
    for (const stop of stops) stop();
  };
}
