export { COMMAND_TIMED_OUT } from './command-watchdog.js';
export { deleteKeysByPrefix } from './delete-by-prefix.js';
export {
  clusterNodes,
  connectRedis,
  createRedis,
  type Redis,
  type RedisClient,
  type RedisKeys,
  redisIsReady,
  redisKeys,
} from './redis-client.js';
export { scanKeys } from './scan-keys.js';
