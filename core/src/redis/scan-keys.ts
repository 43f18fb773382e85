import type { Cluster, Redis } from 'ioredis';

/**
 * Every key under `prefix`, a page at a time, by SCAN (never KEYS, which would block a
 * Redis shared with a running lab). Glob characters in the prefix match themselves.
 * On a cluster SCAN walks one node's keys only, so every master is walked in turn.
 */
export async function* scanKeys(redis: Redis, prefix: string, count = 1000): AsyncGenerator<string[]> {
  const match = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
  const nodes = redis.isCluster ? (redis as unknown as Cluster).nodes('master') : [redis];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', match, 'COUNT', count);
      if (keys.length > 0) yield keys;
      cursor = next;
    } while (cursor !== '0');
  }
}
