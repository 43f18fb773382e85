import postgres from 'postgres';
import type { Config } from './config.js';

export type Sql = postgres.Sql<Record<string, never>>;
export type TransactionSql = postgres.TransactionSql<Record<string, never>>;

/**
 * A postgres.js pool. Short connect timeout and a statement timeout so a dead or slow
 * database fails a request instead of hanging it.
 */
export function createSql(config: Pick<Config, 'DATABASE_URL' | 'DATABASE_POOL_MAX' | 'DATABASE_STATEMENT_TIMEOUT_MS' | 'DATABASE_CONNECT_TIMEOUT_S'>, options: { max?: number; applicationName?: string } = {}): Sql {
  return postgres(config.DATABASE_URL, {
    max: options.max ?? config.DATABASE_POOL_MAX,
    connect_timeout: config.DATABASE_CONNECT_TIMEOUT_S,
    idle_timeout: 30,
    onnotice: () => {},
    connection: {
      application_name: options.applicationName ?? 'stampede',
      statement_timeout: config.DATABASE_STATEMENT_TIMEOUT_MS,
    },
    transform: { undefined: null },
  }) as unknown as Sql;
}
