export {
  type AdmitOutcome,
  type AdmitRequest,
  createGate,
  type Gate,
  type GatePurchase,
  type GateTier,
  type ReconcileResult,
  type Settlement,
  type StaleHold,
  type TierState,
} from './admission-gate.js';
export { bucketTargets } from './bucket-targets.js';
export { messageOfRecord, type PurchaseRecord } from './purchase-record.js';
