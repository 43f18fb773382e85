export { type MigrationResult, migrate } from './migrate.js';
export { createSql, type Sql } from './sql.js';
