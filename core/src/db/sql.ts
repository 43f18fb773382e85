import postgres from 'postgres';
import type { Config } from '../config.js';
import { type Closeable, closeOnce } from '../lifecycle/close-once.js';

export type Sql = postgres.Sql<Record<string, never>>;
export type TransactionSql = postgres.TransactionSql<Record<string, never>>;
/** The process's pool: what queries take (`Sql`), with the one close every component has. */
export type SqlPool = Sql & Closeable;

/**
 * A postgres.js pool. Short connect timeout and a statement timeout so a dead or slow
 * database fails a request instead of hanging it.
 *
 * `close`: queries in flight get `closeTimeoutS` to finish, then the connections are
 * cut (postgres.js's own `end` waits for ever without a timeout).
 */
export function createSql(
  config: Pick<
    Config,
    'DATABASE_URL' | 'DATABASE_POOL_MAX' | 'DATABASE_STATEMENT_TIMEOUT_MS' | 'DATABASE_CONNECT_TIMEOUT_S'
  >,
  options: { max?: number; applicationName?: string; closeTimeoutS?: number } = {},
): SqlPool {
  const sql = postgres(config.DATABASE_URL, {
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
  const timeout = options.closeTimeoutS ?? 5;
  return Object.assign(sql, { close: closeOnce(() => sql.end({ timeout })) });
}
