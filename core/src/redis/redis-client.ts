import { Cluster, type ClusterNode, Redis, type RedisOptions } from 'ioredis';
import type { Config } from '../config.js';
import { defineGateCommands } from '../gate/gate-commands.js';
import { type Closeable, closeOnce } from '../lifecycle/close-once.js';
import type { Logger } from '../logger.js';
import { defineRoomCommands } from '../waiting-room/room-commands.js';
import { watchCommands } from './command-watchdog.js';

export type { Redis } from 'ioredis';
export { type RedisKeys, redisKeys } from './redis-keys.js';

/** The process's Redis client: ioredis, with the one close every component has. */
export type RedisClient = Redis & Closeable;

/**
 * A Redis client that never makes a request wait for a Redis that is not there:
 * no offline queue (a command while disconnected fails at once), a timeout on every command
 * (a hung Redis costs about REDIS_COMMAND_TIMEOUT_MS; command-watchdog.ts), and reconnection in the
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
  config: Pick<Config, 'REDIS_URL' | 'REDIS_CLUSTER_NODES' | 'REDIS_COMMAND_TIMEOUT_MS' | 'REDIS_CONNECT_TIMEOUT_MS'>,
  log: Logger,
): RedisClient {
  const options: RedisOptions = {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: config.REDIS_CONNECT_TIMEOUT_MS,
    retryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 10), 2_000),
    lazyConnect: false,
    enableAutoPipelining: true,
  };
  const redis = connectRedis(config, options);
  const watchdog = watchCommands(redis, config.REDIS_COMMAND_TIMEOUT_MS);
  defineGateCommands(redis);
  defineRoomCommands(redis);
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
    watchdog.stop();
    if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect());
    else redis.disconnect();
  });
  return Object.assign(redis, { close });
}

/** The seed nodes of REDIS_CLUSTER_NODES as ioredis takes them. */
export function clusterNodes(nodes: readonly string[]): ClusterNode[] {
  return nodes.map((n) => {
    const i = n.lastIndexOf(':');
    return { host: n.slice(0, i), port: Number(n.slice(i + 1)) };
  });
}

/**
 * One Redis, or the Cluster client when REDIS_CLUSTER_NODES is set, with the same options.
 * The Cluster client follows MOVED/ASK redirections and a failover by itself; it is typed as
 * a Redis here because every command Stampede sends (single-key commands, scripts and
 * pipelines within one hash slot, see redis-keys.ts) has the same signature on both.
 */
export function connectRedis(
  config: Pick<Config, 'REDIS_URL' | 'REDIS_CLUSTER_NODES'>,
  options: RedisOptions & { enableAutoPipelining?: boolean } = {},
): Redis {
  if (config.REDIS_CLUSTER_NODES.length === 0) return new Redis(config.REDIS_URL, options);
  const { enableOfflineQueue, enableAutoPipelining, lazyConnect, retryStrategy, ...redisOptions } = options;
  return new Cluster(clusterNodes(config.REDIS_CLUSTER_NODES), {
    redisOptions,
    enableOfflineQueue,
    enableAutoPipelining,
    lazyConnect,
    // Asked again while the cluster is away, at the pace a single Redis is.
    clusterRetryStrategy: retryStrategy ? (attempt) => retryStrategy(attempt) ?? null : undefined,
    // A failover moves slots: refresh the map soon rather than on the next redirection only.
    slotsRefreshInterval: 2_000,
  }) as unknown as Redis;
}

/** True when the client can take commands now (no waiting for a connection). */
export function redisIsReady(redis: Redis): boolean {
  return redis.status === 'ready';
}
