export { type MigrationResult, migrate } from './migrate.js';
export { createSql, type Sql, type SqlPool } from './sql.js';
