export * from './migrate.js';
export * from './sql.js';
