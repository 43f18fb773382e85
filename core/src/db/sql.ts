import postgres from 'postgres';
import type { Config } from '../config.js';

export type Sql = postgres.Sql<Record<string, never>>;
export type TransactionSql = postgres.TransactionSql<Record<string, never>>;

/**
 * A postgres.js pool. Short connect timeout and a statement timeout so a dead or slow
 * database fails a request instead of hanging it.
 */
export function createSql(
  config: Pick<
    Config,
    'DATABASE_URL' | 'DATABASE_POOL_MAX' | 'DATABASE_STATEMENT_TIMEOUT_MS' | 'DATABASE_CONNECT_TIMEOUT_S'
  >,
  options: { max?: number; applicationName?: string } = {},
): Sql {
  return postgres(config.DATABASE_URL, {
    max: options.max ?? config.DATABASE_POOL_MAX,
    connect_timeout: config.DATABASE_CONNECT_TIMEOUT_S,
    idle_timeout: 30,
    // postgres.js waits up to 20 s (growing with each failure) before reconnecting, and queues
    // queries meanwhile: after an outage requests hung for seconds and recovery lagged the
    // database's return. Retry at most every second, so a query fails fast or runs soon.
    backoff: (retries: number) => Math.min(0.05 * 2 ** retries, 1),
    onnotice: () => {},
    connection: {
      application_name: options.applicationName ?? 'stampede',
      statement_timeout: config.DATABASE_STATEMENT_TIMEOUT_MS,
    },
    transform: { undefined: null },
  }) as unknown as Sql;
}
