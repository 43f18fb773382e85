import { Redis } from 'ioredis';

/**
 * Deletes every key under `prefix` (a lab's, a benchmark's or a test's own, never
 * another's) on a connection of its own; returns how many. SCAN, never KEYS, which
 * would block a Redis shared with a running lab; UNLINK frees the memory off the main
 * thread.
 */
export async function deleteKeysByPrefix(url: string, prefix: string): Promise<number> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  let deleted = 0;
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`, 'COUNT', 1000);
      if (keys.length > 0) deleted += await redis.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
    return deleted;
  } finally {
    redis.disconnect();
  }
}
