import { Redis } from 'ioredis';
import type { Config } from '../config.js';
import { defineGateCommands } from '../gate/gate-commands.js';
import { type Closeable, closeOnce } from '../lifecycle/close-once.js';
import type { Logger } from '../logger.js';

export type { Redis } from 'ioredis';
export { type RedisKeys, redisKeys } from './redis-keys.js';

/** The process's Redis client: ioredis, with the one close every component has. */
export type RedisClient = Redis & Closeable;

/**
 * A Redis client that never makes a request wait for a Redis that is not there:
 * no offline queue (a command while disconnected fails at once), a per-command timeout
 * (a hung Redis costs at most REDIS_COMMAND_TIMEOUT_MS), and reconnection in the
 * background with capped exponential backoff, so caching resumes by itself.
 *
 * Auto-pipelining sends the commands of every request handled in one event-loop turn
 * as one socket write: under a spike one write per command was a fifth of a replica's
 * CPU on the sold-out path (the loopback send runs inside the write call).
 *
 * `close` sends QUIT when connected (the replies of commands already sent arrive first);
 * while Redis is away there is nothing to say goodbye to, so it just stops reconnecting.
 */
export function createRedis(
  config: Pick<Config, 'REDIS_URL' | 'REDIS_COMMAND_TIMEOUT_MS' | 'REDIS_CONNECT_TIMEOUT_MS'>,
  log: Logger,
): RedisClient {
  const redis = new Redis(config.REDIS_URL, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: config.REDIS_COMMAND_TIMEOUT_MS,
    connectTimeout: config.REDIS_CONNECT_TIMEOUT_MS,
    retryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 10), 2_000),
    lazyConnect: false,
    enableAutoPipelining: true,
  });
  defineGateCommands(redis);
  let down = false;
  redis.on('ready', () => {
    if (down) log.info({ event: 'redis.up' }, 'redis reachable again, caching resumes');
    down = false;
  });
  redis.on('error', (err: Error) => {
    if (!down) log.warn({ event: 'redis.down', err: err.message }, 'redis unreachable, reads bypass the cache');
    down = true;
  });
  const close = closeOnce(async () => {
    if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect());
    else redis.disconnect();
  });
  return Object.assign(redis, { close });
}

/** True when the client can take commands now (no waiting for a connection). */
export function redisIsReady(redis: Redis): boolean {
  return redis.status === 'ready';
}
