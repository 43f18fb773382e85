export {
  type DecidedPurchase,
  type DecideOptions,
  type Decision,
  decidePurchases,
  decisionOfRow,
  type Payment,
  type PoisonPurchase,
  rejectPurchases,
} from './decide-purchases.js';
export { GATE_SHARDS, gateShard } from './gate-shard.js';
export {
  CANONICAL_UUID,
  isPurchaseIdOf,
  type Placement,
  placePurchase,
  purchaseIdFor,
  requestFingerprint,
  shardOfPurchaseId,
} from './purchase-id.js';
export {
  bucketOf,
  canonicalPurchaseMessage,
  homeBucket,
  type PurchaseMessage,
  purchaseMessageSchema,
} from './purchase-message.js';
export { findPurchase, findPurchases, type PurchaseRow } from './purchase-store.js';
export * from './purchase-vocabulary.js';
export { simulatedPayment } from './simulated-payment.js';
