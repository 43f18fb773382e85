export * from './event-admin-repository.js';
export * from './event-repository.js';
