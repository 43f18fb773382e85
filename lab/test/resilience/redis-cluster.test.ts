import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { connectRedis, redisKeys } from '@stampede/core/redis';
import { describe, expect, it } from 'vitest';
import { redisMasterKill } from '../../src/chaos/redis-master-kill.js';
import { createTestEvent, waitFor } from '../../testing/fixtures.js';
import {
  acceptPurchases,
  expectEveryAcceptedDecidedOnce,
  expectPass,
  runQuick,
  useScenarioLab,
} from './use-scenario-lab.js';

const run = promisify(execFile);
const redisCli = async (port: number, ...args: string[]) =>
  (await run('redis-cli', ['-p', String(port), ...args])).stdout;

/**
 * The lab on a Redis Cluster of its own: three masters with a replica each on this machine,
 * the API replicas and the worker given every node in REDIS_CLUSTER_NODES.
 */
describe('resilience: a Redis Cluster of three masters', () => {
  const t = useScenarioLab({ services: ['redis-cluster'] }, 180_000);

  it("when the lab runs on the cluster, then its components name every node and the gate's keys live there, none in the machine's Redis", async () => {
    const cluster = t.lab.target.services['redis-cluster']!;
    const { config, state } = t.lab.target;
    expect(config.REDIS_CLUSTER_NODES).toEqual(cluster.nodes);
    expect(state.options.env?.REDIS_CLUSTER_NODES).toBe(cluster.nodes.join(','));
    const event = await createTestEvent(t.sql, [100]);
    await acceptPurchases(t.lab.target.base, event.id, event.tiers[0]!.id, 3);
    const key = redisKeys(config.REDIS_KEY_PREFIX).stock(event.id, event.tiers[0]!.id, 0);
    const redis = connectRedis(config, { maxRetriesPerRequest: 1 });
    try {
      await waitFor(async () => (await redis.exists(key)) === 1, { what: `${key} on the cluster` });
    } finally {
      redis.disconnect();
    }
    expect(await redisCli(6379, '--scan', '--pattern', `${config.REDIS_KEY_PREFIX}*`)).toBe('');
  }, 60_000);

  it("when the master of the hot event's gate slot is SIGKILLed under load, then its replica takes over, the gate admits again while it is down, no purchase fails, and nothing is lost", async () => {
    const cluster = t.lab.target.services['redis-cluster']!;
    const result = await runQuick(redisMasterKill, t.lab.target, { faultMs: 4_000, recoveryMs: 3_000 });
    expectPass(result);
    expect(result.facts).toMatchObject({
      mastersBefore: 3,
      newMaster: 1,
      slotsServed: 16_384,
      gateAdmitsAgain: 1,
      admittedAgain: 1,
      refusedSinceKill: 0,
      refusalWindowMs: 0,
      rejoined: 1,
      mastersAfter: 3,
    });
    expect(result.failures).toEqual([]);
    // The node killed was the hot slot's master: it is back as the replica of the node serving that slot now.
    const hot = redisKeys(t.lab.target.config.REDIS_KEY_PREFIX).stock(result.eventId, result.tierIds[0]!, 0);
    const master = await cluster.masterOf(hot);
    expect(master).not.toBe(result.facts.killedPort);
    expect(await redisCli(result.facts.killedPort!, 'info', 'replication')).toContain(`master_port:${master}`);
    await expectEveryAcceptedDecidedOnce(t.sql, result);
  }, 300_000);
});
