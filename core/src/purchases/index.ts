export {
  type DecidedPurchase,
  type DecideOptions,
  type Decision,
  decidePurchases,
  type Payment,
  type PoisonPurchase,
} from './decide-purchases.js';
export { purchaseIdFor, requestFingerprint } from './purchase-id.js';
export { type PurchaseMessage, purchaseMessageSchema } from './purchase-message.js';
export { findPurchase, type PurchaseRow } from './purchase-store.js';
export * from './purchase-vocabulary.js';
export { simulatedPayment } from './simulated-payment.js';
