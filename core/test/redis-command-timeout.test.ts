import { COMMAND_TIMED_OUT, createRedis, type RedisClient } from '@stampede/core/redis';
import { type PrivateRedis, startPrivateRedis, testConfig, testLogger, waitFor } from '@stampede/lab/testing';
import { describe, expect, it } from 'vitest';

const TIMEOUT_MS = 300;

/** When a command settled, in ms from `from`, and how: its reply or its error's message. */
async function settled(command: Promise<unknown>, from: number): Promise<{ ms: number; outcome: unknown }> {
  const outcome = await command.then(
    (v) => v,
    (err: Error) => err.message,
  );
  return { ms: performance.now() - from, outcome };
}

/** A private Redis the test can pause, and the process's client on it; both gone after `body`. */
async function withPausableRedis(body: (redis: PrivateRedis, client: RedisClient) => Promise<void>): Promise<void> {
  const redis = await startPrivateRedis();
  const config = testConfig({ REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: TIMEOUT_MS });
  const client = createRedis(config, testLogger(config));
  try {
    await waitFor(() => client.status === 'ready', { what: 'client ready' });
    await body(redis, client);
  } finally {
    await client.close();
    await redis.close();
  }
}

describe('a Redis command that gets no answer', () => {
  it('when Redis hangs, then every waiting command fails as timed out after about REDIS_COMMAND_TIMEOUT_MS, and once Redis answers again each later command gets its own reply', async () => {
    await withPausableRedis(async (redis, client) => {
      await client.mset('a', 'A', 'b', 'B', 'c', 'C');

      redis.pause();
      const from = performance.now();
      const early = [settled(client.get('a'), from), settled(client.get('b'), from)];
      await new Promise((r) => setTimeout(r, TIMEOUT_MS / 2));
      const late = settled(client.get('c'), performance.now());
      const results = [...(await Promise.all(early)), await late];
      for (const r of results) {
        expect(r.outcome).toBe(COMMAND_TIMED_OUT);
        // Between the timeout less a tick (a fifth) and the timeout plus a tick, with room for a busy machine.
        expect(r.ms).toBeGreaterThanOrEqual(TIMEOUT_MS * 0.8 - 5);
        expect(r.ms).toBeLessThan(TIMEOUT_MS * 1.2 + 250);
      }

      redis.resume();
      // The late replies of the failed commands are matched to them and dropped, not handed to these.
      expect(await client.get('b')).toBe('B');
      expect(await Promise.all([client.get('c'), client.get('a')])).toEqual(['C', 'A']);
    });
  });

  it('when Redis answers within the timeout, then a command slower than a tick is not failed', async () => {
    await withPausableRedis(async (redis, client) => {
      await client.set('k', 'v');
      redis.pause();
      const reply = client.get('k');
      await new Promise((r) => setTimeout(r, TIMEOUT_MS / 2));
      redis.resume();
      expect(await reply).toBe('v');
    });
  });
});
