export {
  type AdmitOutcome,
  type AdmitRequest,
  createGate,
  type Gate,
  type GatePurchase,
  type ReconcileResult,
  type Settlement,
  type StaleHold,
  type TierState,
} from './admission-gate.js';
export { messageOfRecord, type PurchaseRecord } from './purchase-record.js';
