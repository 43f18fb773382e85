import { Redis } from 'ioredis';
import { scanKeys } from './scan-keys.js';

/**
 * Deletes every key under `prefix` (a lab's, a benchmark's or a test's own, never
 * another's) on a connection of its own; returns how many. UNLINK frees the memory off
 * Redis' main thread.
 */
export async function deleteKeysByPrefix(url: string, prefix: string): Promise<number> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  let deleted = 0;
  try {
    await redis.connect();
    for await (const keys of scanKeys(redis, prefix)) deleted += await redis.unlink(...keys);
    return deleted;
  } finally {
    redis.disconnect();
  }
}
