import { type DestinationStream, type Logger, pino } from 'pino';
import type { Config } from './config.js';
import { batchedStdout } from './log-destination.js';

export type { Logger } from 'pino';

/**
 * Paths whose values never reach a log line. Named paths only: a wildcard (`*.password`)
 * made pino clone and walk every line, three times the cost of writing it, on a worker
 * that logs a line per purchase. Connection URLs are logged through redactUrl().
 */
const REDACTED_PATHS = [
  'password',
  'token',
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  'config.ADMIN_TOKEN',
  'config.DATABASE_URL',
  'config.AMQP_URL',
  'config.AMQP_URLS',
  'config.REDIS_URL',
];

/** Characters of log lines written in one go; FLUSH_EVERY_MS bounds how long a line waits for them. */
const BATCH_CHARS = 32_768;
const FLUSH_EVERY_MS = 50;

/** The one writer of the process's stdout, shared by its loggers (one order, one exit flush). */
let stdout: DestinationStream | undefined;

/**
 * The process logger: pino JSON to stdout, one line per event, every line carrying
 * the component and instance. Pretty output only when LOG_PRETTY asks for it.
 *
 * Lines are written asynchronously and in batches (log-destination.ts): a write per line
 * was a tenth of a replica's CPU under a purchase spike (one line per accepted purchase),
 * and each write still costs enough that 32 KiB at a time (about 80 lines) took 7 % off an
 * admission's CPU against 4 KiB (A/B). Lines are held until that much is waiting or
 * FLUSH_EVERY_MS has passed, whichever comes first, so a quiet process still shows each
 * line within that; what is held is written when the process exits (only a `kill -9` can
 * lose the last FLUSH_EVERY_MS of lines).
 */
export function createLogger(
  config: Pick<Config, 'LOG_LEVEL' | 'LOG_PRETTY' | 'INSTANCE_NAME'>,
  component: string,
  /** Where the lines go instead of stdout (tests). */
  destination?: DestinationStream,
): Logger {
  const options = {
    level: config.LOG_LEVEL,
    base: { component, instance: config.INSTANCE_NAME },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    formatters: { level: (label: string) => ({ level: label }) },
  };
  if (config.LOG_PRETTY) return pino({ ...options, transport: { target: 'pino-pretty', options: { colorize: true } } });
  return pino(options, destination ?? (stdout ??= batchedStdout(BATCH_CHARS, FLUSH_EVERY_MS)));
}

/** The log methods a request's code uses: a request logger (lazyChild) or the process's own. */
export type LogMethods = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

/**
 * A logger whose lines carry `bindings`, the pino child made on the first line. Most
 * requests log nothing, and a child per request (its bindings serialized up front) was a
 * visible share of the CPU of a route that does little else.
 */
export function lazyChild(log: Logger, bindings: Record<string, unknown>): LogMethods {
  let child: Logger | undefined;
  const line =
    (level: keyof LogMethods) =>
    (...args: unknown[]) =>
      ((child ??= log.child(bindings))[level] as (...a: unknown[]) => void)(...args);
  return {
    debug: line('debug') as Logger['debug'],
    info: line('info') as Logger['info'],
    warn: line('warn') as Logger['warn'],
    error: line('error') as Logger['error'],
  };
}

/** Replaces credentials in a connection URL so it can be logged. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '[unparseable url]';
  }
}

/**
 * A warning that could be written once per request while a dependency is away (a line per
 * purchase): at most one line per `everyMs` from this process. The first comes at once;
 * those in the rest of the interval are only counted, and the count rides on the next line
 * as `suppressed` (or on `settle()`, called when the trouble is over, so none go unreported).
 */
export function throttledWarning(log: Logger, everyMs: number) {
  let lastAt = Number.NEGATIVE_INFINITY;
  let suppressed = 0;
  let last: { fields: Record<string, unknown>; msg: string } | undefined;
  return {
    warn(fields: Record<string, unknown>, msg: string, now = Date.now()): void {
      last = { fields, msg };
      if (now - lastAt < everyMs) {
        suppressed++;
        return;
      }
      log.warn(suppressed > 0 ? { ...fields, suppressed } : fields, msg);
      lastAt = now;
      suppressed = 0;
    },
    /** The trouble is over: the count of lines held back since the last one, if any, is written. */
    settle(): void {
      if (suppressed > 0 && last) log.warn({ ...last.fields, suppressed, settled: true }, last.msg);
      suppressed = 0;
      lastAt = Number.NEGATIVE_INFINITY;
    },
  };
}
