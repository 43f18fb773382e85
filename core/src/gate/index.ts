export {
  type AdmitOutcome,
  type AdmitRequest,
  createGate,
  type Gate,
  type GatePurchase,
  type ReconcileResult,
  type Settlement,
  type TierState,
} from './admission-gate.js';
export type { PurchaseRecord } from './purchase-record.js';
