export {
  createBuckets,
  createEvent,
  type NewEvent,
  saleStats,
  setSaleOpen,
  type TierStats,
} from './event-admin-repository.js';
export {
  type Availability,
  availableForGate,
  type EventRow,
  type EventWithTiers,
  findEventWithTiers,
  listEvents,
  lockAvailableByTier,
  queryAvailability,
  type TierAvailability,
  type TierRow,
} from './event-repository.js';
export { type SaleWindow, saleStateAt } from './sale-window.js';
