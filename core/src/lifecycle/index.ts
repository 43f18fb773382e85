export * from './close-once.js';
export * from './shutdown.js';
