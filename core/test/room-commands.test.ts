import { randomUUID } from 'node:crypto';
import { createRedis, deleteKeysByPrefix, redisKeys } from '@stampede/core/redis';
import { createWaitingRoom } from '@stampede/core/waiting-room';
import { testConfig, testLogger, waitFor } from '@stampede/lab/testing';
import { describe, expect, it } from 'vitest';

describe("the waiting room's scripts on an auto-pipelining client", () => {
  it("when a room's first call shares a pipeline with a command issued before it in the same turn, then it is answered (its scripts were defined with the client)", async () => {
    const config = testConfig();
    const redis = createRedis(config, testLogger(config));
    try {
      await waitFor(() => redis.status === 'ready', { what: 'redis' });
      const keys = redisKeys(config.REDIS_KEY_PREFIX);
      const eventId = randomUUID();
      // The GET opens this turn's pipeline; the room is made only after it, as a route may be.
      const before = redis.get(keys.roomConfig(eventId));
      const room = createWaitingRoom(redis, keys, { passTtlMs: 60_000, heartbeatMs: 30_000 });
      const [, joined] = await Promise.all([before, room.join(eventId)]);
      expect(joined).toEqual({ kind: 'off' });
    } finally {
      await deleteKeysByPrefix(config.REDIS_URL, config.REDIS_KEY_PREFIX);
      redis.disconnect();
    }
  });
});
