import type { Redis } from 'ioredis';

/**
 * Every key under `prefix`, a page at a time, by SCAN (never KEYS, which would block a
 * Redis shared with a running lab). Glob characters in the prefix match themselves.
 */
export async function* scanKeys(redis: Redis, prefix: string, count = 1000): AsyncGenerator<string[]> {
  const match = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', match, 'COUNT', count);
    if (keys.length > 0) yield keys;
    cursor = next;
  } while (cursor !== '0');
}
