import { pino, type Logger } from 'pino';
import type { Config } from './config.js';

export type { Logger } from 'pino';

/** Paths whose values never reach a log line. */
const REDACT = [
  'password', '*.password', 'token', '*.token', 'authorization', '*.authorization',
  'headers.authorization', 'req.headers.authorization', 'config.ADMIN_TOKEN', 'config.DATABASE_URL',
  'config.AMQP_URL', 'config.REDIS_URL',
];

/**
 * The process logger: pino JSON to stdout, one line per event, every line carrying
 * the component and instance. Pretty output only when LOG_PRETTY asks for it.
 */
export function createLogger(config: Pick<Config, 'LOG_LEVEL' | 'LOG_PRETTY' | 'INSTANCE_NAME'>, component: string): Logger {
  return pino({
    level: config.LOG_LEVEL,
    base: { component, instance: config.INSTANCE_NAME },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT, censor: '[redacted]' },
    formatters: { level: (label) => ({ level: label }) },
    ...(config.LOG_PRETTY ? { transport: { target: 'pino-pretty', options: { colorize: true } } } : {}),
  });
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
