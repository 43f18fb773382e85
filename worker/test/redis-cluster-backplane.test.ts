import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { createBackplanePublisher, subscribeBackplane } from '@stampede/core/backplane';
import { createRedis, redisKeys } from '@stampede/core/redis';
import { startRedisCluster, type TestRedisCluster, testConfig, testLogger, waitFor } from '@stampede/lab/testing';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

/** The live nodes on which someone is subscribed to `channel` (PUBSUB CHANNELS answers for its own node only). */
async function nodesListening(cluster: TestRedisCluster, channel: string): Promise<number[]> {
  const ports = cluster.nodes.map((n) => Number(n.split(':')[1]));
  const answers = await Promise.all(
    ports.map((p) =>
      run('redis-cli', ['-p', String(p), 'pubsub', 'channels', channel]).then(
        (r) => r.stdout.trim() === channel,
        () => false,
      ),
    ),
  );
  return ports.filter((_, i) => answers[i]);
}

describe('the backplane on a Redis Cluster node killed', () => {
  it('when the node the backplane subscriber listens on is killed, then it subscribes through another node, tells its caches, and messages flow again', async () => {
    const cluster = await startRedisCluster({ masters: 3, replicasEach: 1 });
    const config = testConfig({ REDIS_CLUSTER_NODES: cluster.nodes, REDIS_COMMAND_TIMEOUT_MS: 500 });
    const log = testLogger(config);
    const redis = createRedis(config, log);
    const sub = subscribeBackplane({ ...config, INSTANCE_NAME: 'listener' }, log);
    try {
      await waitFor(() => redis.status === 'ready', { what: 'cluster client' });
      await sub.ready();
      let resubscribed = 0;
      sub.onSubscribed(() => {
        resubscribed += 1;
      });
      const heard: string[] = [];
      sub.on('sold_out', (m) => heard.push(m.tierId));
      const publisher = createBackplanePublisher(redis, config, log);
      const eventId = randomUUID();
      const send = () => publisher.publish({ kind: 'sold_out', tierId: randomUUID(), eventId });
      const channel = redisKeys(config.REDIS_KEY_PREFIX).backplane();
      const [victim, ...others] = await nodesListening(cluster, channel);
      expect(others).toEqual([]);
      expect(await send()).toBe(true);
      await waitFor(() => heard.length === 1, { what: 'a message before the kill' });

      await cluster.kill(victim!);
      // A message sent while nobody listens is missed, by design: send until one is heard.
      await waitFor(async () => (await send()) && heard.length > 1, {
        what: 'a message after the kill',
        timeoutMs: 20_000,
        intervalMs: 200,
      });
      const now = await nodesListening(cluster, channel);
      expect(now).toHaveLength(1);
      expect(now).not.toContain(victim);
      // Messages may have been missed meanwhile: the subscriber said it was subscribed again.
      await waitFor(() => resubscribed > 0, { what: 'the resubscription reported' });
      expect(sub.state()).toBe('up');
    } finally {
      await sub.close();
      await redis.close();
      await cluster.close();
    }
  }, 90_000);
});
