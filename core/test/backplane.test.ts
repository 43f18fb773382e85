import { type BackplaneMessage, createBackplanePublisher, subscribeBackplane } from '@stampede/core/backplane';
import { createRedis, redisKeys } from '@stampede/core/redis';
import { startPrivateRedis, startTcpProxy, testConfig, testLogger, waitFor } from '@stampede/lab/testing';
import { describe, expect, it } from 'vitest';

const EVENT = '6f1c1e7e-0000-4000-8000-00000000b001';
const TIER = '6f1c1e7e-0000-4000-8000-00000000b002';

describe('the backplane', () => {
  it('when a message is published, then every subscriber of the prefix gets it checked and typed, and no other prefix hears it', async () => {
    const config = testConfig({ BACKPLANE_HEARTBEAT_MS: 200 });
    const other = testConfig();
    const log = testLogger(config);
    const redis = createRedis(config, log);
    const a = subscribeBackplane(config, log);
    const b = subscribeBackplane({ ...config, INSTANCE_NAME: 'b' }, log);
    const stranger = subscribeBackplane(other, log);
    try {
      await Promise.all([a.ready(), b.ready(), stranger.ready()]);
      await waitFor(() => redis.status === 'ready', { what: 'redis' });
      const heardA: BackplaneMessage[] = [];
      const heardB: BackplaneMessage[] = [];
      const heardStranger: BackplaneMessage[] = [];
      a.on('sold_out', (m) => heardA.push(m));
      b.on('sold_out', (m) => heardB.push(m));
      b.on('event_changed', (m) => heardB.push(m));
      stranger.on('sold_out', (m) => heardStranger.push(m));

      const publisher = createBackplanePublisher(redis, config, log);
      expect(await publisher.publish({ kind: 'sold_out', tierId: TIER, eventId: EVENT })).toBe(true);
      await waitFor(() => heardA.length === 1 && heardB.length === 1, { what: 'both subscribers' });
      expect(heardA[0]).toMatchObject({ v: 1, kind: 'sold_out', tierId: TIER, from: config.INSTANCE_NAME });
      expect(typeof heardA[0]!.sentAt).toBe('number');
      await new Promise((r) => setTimeout(r, 100));
      expect(heardStranger).toEqual([]);
    } finally {
      await Promise.all([a.close(), b.close(), stranger.close()]);
      redis.disconnect();
    }
  });

  it('when junk, a malformed message or an unknown kind arrives, then it is dropped and the next valid message still arrives', async () => {
    const config = testConfig();
    const log = testLogger(config);
    const raw = createRedis(config, log);
    const sub = subscribeBackplane(config, log);
    try {
      await sub.ready();
      await waitFor(() => raw.status === 'ready', { what: 'redis' });
      const heard: BackplaneMessage[] = [];
      sub.on('sold_out', (m) => heard.push(m));
      sub.on('event_changed', (m) => heard.push(m));
      sub.on('sold_out', () => {
        throw new Error('a broken handler must not stop the others');
      });
      const channel = redisKeys(config.REDIS_KEY_PREFIX).backplane();
      const envelope = { v: 1, from: 'x', sentAt: Date.now() };
      await raw.publish(channel, 'not json');
      await raw.publish(channel, JSON.stringify({ ...envelope, kind: 'sold_out', tierId: 'not-a-uuid' }));
      await raw.publish(channel, JSON.stringify({ ...envelope, kind: 'from_a_newer_build', purchaseId: TIER }));
      await raw.publish(
        channel,
        JSON.stringify({ ...envelope, kind: 'event_changed', change: 'deleted', eventId: EVENT, saleOpensAt: null }),
      );
      await raw.publish(channel, JSON.stringify({ ...envelope, kind: 'sold_out', tierId: TIER }));
      await waitFor(() => heard.length >= 1, { what: 'the valid message' });
      await new Promise((r) => setTimeout(r, 50));
      expect(heard).toHaveLength(1);
      expect(heard[0]).toMatchObject({ kind: 'sold_out', tierId: TIER });
    } finally {
      await sub.close();
      raw.disconnect();
    }
  });

  it('when redis-server is killed, then the subscriber reports down, and when it is back, it resubscribes on its own, says so, and hears messages again', async () => {
    const server = await startPrivateRedis();
    const config = testConfig({ REDIS_URL: server.url, BACKPLANE_HEARTBEAT_MS: 100 });
    const log = testLogger(config);
    const redis = createRedis(config, log);
    const sub = subscribeBackplane(config, log);
    try {
      let subscriptions = 0;
      sub.onSubscribed(() => {
        subscriptions += 1;
      });
      await sub.ready();
      expect(sub.state()).toBe('up');
      expect(subscriptions).toBe(1);
      const heard: string[] = [];
      sub.on('sold_out', (m) => heard.push(m.tierId));

      await server.kill();
      await waitFor(() => sub.state() === 'down', { what: 'subscriber to report down' });
      const publisher = createBackplanePublisher(redis, config, log);
      expect(await publisher.publish({ kind: 'sold_out', tierId: TIER })).toBe(false);

      await server.start();
      await waitFor(() => sub.state() === 'up', { timeoutMs: 10_000, what: 'resubscription' });
      // Once more: the listener is how a replica learns to drop what it may have missed.
      expect(subscriptions).toBe(2);
      await waitFor(() => redis.status === 'ready', { what: 'publisher client back' });
      expect(await publisher.publish({ kind: 'sold_out', tierId: TIER })).toBe(true);
      await waitFor(() => heard.length === 1, { what: 'message after resubscription' });
    } finally {
      await sub.close();
      redis.disconnect();
      await server.close();
    }
  });

  it('when the subscription hangs without closing, then the heartbeat reports it down and a reconnect brings it back', async () => {
    const proxy = await startTcpProxy(6379);
    const config = testConfig({ REDIS_URL: `redis://127.0.0.1:${proxy.port}`, BACKPLANE_HEARTBEAT_MS: 100 });
    const sub = subscribeBackplane(config, testLogger(config));
    try {
      await sub.ready();
      proxy.blackhole();
      await waitFor(() => sub.state() === 'down', { timeoutMs: 5_000, what: 'heartbeat to notice' });
      await proxy.heal();
      await waitFor(() => sub.state() === 'up', { timeoutMs: 10_000, what: 'resubscription' });
    } finally {
      await sub.close();
      await proxy.close();
    }
  });
});
