// The cluster starter lives with the lab's servers (the chaos lab runs one too); tests keep their names.
export {
  type PrivateRedisCluster as TestRedisCluster,
  startPrivateRedisCluster as startRedisCluster,
} from '../src/servers/private-redis-cluster.js';
