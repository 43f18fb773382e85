export * from './config.js';
export * from './logger.js';
export * from './errors.js';
export * from './db.js';
export * from './migrate.js';
export * from './seed.js';
export * from './shutdown.js';
