import type { Logger } from '../logger.js';

/**
 * Process-wide last resort: an uncaught exception (or unhandled rejection) is logged as
 * fatal and ends the process with code 1, as Node would, but as a JSON line the logs tool
 * can read. (postgres.js' throw from a timer when Postgres dies mid-transaction,
 * porsager/postgres#1208, is fixed at its source by patches/postgres+3.4.9.patch.)
 */
export function installCrashGuard(log: Logger, exit: (code: number) => void = (code) => process.exit(code)): void {
  process.on('uncaughtException', (err, origin) => {
    log.fatal({ event: 'process.crashed', origin, err }, 'uncaught exception, exiting');
    exit(1);
  });
}
