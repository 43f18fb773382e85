import { randomUUID } from 'node:crypto';
import { deleteKeysByPrefix } from '@stampede/core/redis';
import { testConfig } from '@stampede/lab/testing';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';

const config = testConfig();
const redis = new Redis(config.REDIS_URL);
afterAll(() => redis.quit());

describe('deleteKeysByPrefix', () => {
  it('when two prefixes share a server, then only the keys under the given one are deleted, and their count returned', async () => {
    const tag = randomUUID().slice(0, 8);
    const mine = `test:del:${tag}:`;
    // A prefix that is a glob pattern unescaped would match `mine` too.
    const other = `test:del:${tag}*other:`;
    for (let i = 0; i < 1_500; i++) await redis.set(`${mine}${i}`, '1', 'EX', 600);
    await redis.set(`${other}kept`, '1', 'EX', 600);
    await redis.set(`test:del:${tag}x`, '1', 'EX', 600); // shares the text before the colon only

    expect(await deleteKeysByPrefix(config.REDIS_URL, `test:del:${tag}*`)).toBe(1);
    expect(await redis.exists(`${other}kept`)).toBe(0);
    expect(await deleteKeysByPrefix(config.REDIS_URL, mine)).toBe(1_500);
    expect(await redis.exists(`${mine}0`, `${mine}1499`)).toBe(0);
    expect(await redis.get(`test:del:${tag}x`)).toBe('1');
    await redis.del(`test:del:${tag}x`);
  });
});
