export * from './crash-guard.js';
export * from './shutdown.js';
