import type { Logger } from '../logger.js';

/**
 * The one known throw of postgres.js 3.4.9 from a timer (porsager/postgres#1208): when
 * the backend of a transaction dies under it (Postgres stopped or restarted), the
 * transaction is rejected with CONNECTION_CLOSED, and then `sql.begin()` writes its own
 * ROLLBACK to the socket that closing has already set to null: `nextWrite` throws a
 * TypeError from setImmediate, where no caller can catch it.
 */
export function isPostgresClosedSocketWrite(err: unknown): boolean {
  if (!(err instanceof TypeError) || !/reading 'write'/.test(err.message)) return false;
  const stack = err.stack ?? '';
  return /\bnextWrite\b/.test(stack) && /postgres[\\/]src[\\/]connection\.js/.test(stack);
}

/**
 * Process-wide last resort. The postgres.js write to a closed connection is logged and
 * survived: its transaction has already failed (and is retried by its caller), the
 * connection is gone and is replaced on next use; ending the process for it killed the
 * worker whenever Postgres restarted mid-batch. Any other uncaught exception (or
 * unhandled rejection) is logged as fatal and ends the process with code 1, as Node
 * would, but as a JSON line the logs tool can read.
 */
export function installCrashGuard(log: Logger, exit: (code: number) => void = (code) => process.exit(code)): void {
  process.on('uncaughtException', (err, origin) => {
    if (isPostgresClosedSocketWrite(err)) {
      log.warn(
        { event: 'postgres.closed_socket_write', err: err.message },
        'postgres.js wrote to a connection that had just closed (porsager/postgres#1208); its transaction had already failed and is retried',
      );
      return;
    }
    log.fatal({ event: 'process.crashed', origin, err }, 'uncaught exception, exiting');
    exit(1);
  });
}
