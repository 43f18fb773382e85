export * from './backplane.js';
export * from './backplane-messages.js';
