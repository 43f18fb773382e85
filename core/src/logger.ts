import { type DestinationStream, type Logger, pino } from 'pino';
import type { Config } from './config.js';

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
  'config.REDIS_URL',
];

/**
 * The process logger: pino JSON to stdout, one line per event, every line carrying
 * the component and instance. Pretty output only when LOG_PRETTY asks for it.
 *
 * Lines are written asynchronously: a synchronous write per line was a tenth of a
 * replica's CPU under a purchase spike, while an asynchronous stream writes the lines
 * that piled up during one write in the next. Nothing waits for a buffer to fill, so a
 * quiet process still writes each line at once; pino flushes what is left when the
 * process exits (only a `kill -9` can lose the last few milliseconds of lines).
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
  return pino(options, destination ?? pino.destination({ dest: 1, sync: false }));
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
