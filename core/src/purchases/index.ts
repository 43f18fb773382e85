export * from './decide-purchases.js';
export * from './plan-batch.js';
export * from './purchase-id.js';
export * from './purchase-message.js';
export * from './purchase-repository.js';
export * from './purchase-store.js';
export * from './simulated-payment.js';
