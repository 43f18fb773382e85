export * from './availability-cache.js';
