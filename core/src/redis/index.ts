export * from './delete-by-prefix.js';
export * from './redis-client.js';
export * from './scan-keys.js';
