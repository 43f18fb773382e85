import { brokerNames } from '@stampede/core/broker';
import { redisKeys } from '@stampede/core/redis';
import { describe, expect, it } from 'vitest';
import { brokerNodeKill } from '../../src/chaos/cluster-scenarios.js';
import { startComponent, stopComponent } from '../../src/local-lab/lab.js';
import { queueDepths } from '../../src/local-lab/status.js';
import { reconcile } from '../../src/reconcile/reconcile.js';
import { createTestEvent, waitFor } from '../../testing/fixtures.js';
import {
  acceptPurchases,
  expectEveryAcceptedDecidedOnce,
  expectPass,
  runQuick,
  useScenarioLab,
} from './use-scenario-lab.js';

/**
 * The lab on a RabbitMQ cluster of its own: three nodes on this machine (own names, ports,
 * data, one cookie, an epmd of their own), the API and the worker given all three in AMQP_URLS.
 */
describe('resilience: a three-node RabbitMQ cluster', () => {
  const t = useScenarioLab({ services: ['rabbitmq-cluster'] }, 300_000);

  it('when the lab declares its queues on the cluster, then each is a quorum queue with a member on every node', async () => {
    const cluster = t.lab.target.services['rabbitmq-cluster']!;
    const nodes = cluster.nodes.map((n) => n.node).sort();
    expect(await cluster.runningNodes()).toEqual(nodes);
    expect(t.lab.target.config.AMQP_URLS).toEqual(cluster.urls);
    const names = brokerNames(t.lab.target.config.AMQP_PREFIX);
    for (const queue of [names.queue, names.deadLetterQueue]) {
      const q = await cluster.quorumQueue(queue);
      expect(q.members, queue).toEqual(nodes);
      expect(q.online, queue).toEqual(nodes);
    }
  }, 60_000);

  it('when the node leading the purchase queue is SIGKILLed under load, then a survivor leads, purchases are confirmed again while it is down, and nothing is lost', async () => {
    const result = await runQuick(brokerNodeKill, t.lab.target, { faultMs: 4_000, recoveryMs: 3_000 });
    expectPass(result);
    expect(result.facts).toMatchObject({
      membersBefore: 3,
      newLeader: 1,
      admittedAgain: 1,
      rejoined: 1,
      onlineAfter: 3,
    });
    expect(result.failures.filter((f) => f.kind === 'read')).toEqual([]);
    await expectEveryAcceptedDecidedOnce(t.sql, result);
  }, 300_000);

  it('when the leader node is SIGKILLed with a backlog in the queue, then the survivors still hold every message and the worker decides them all', async () => {
    const cluster = t.lab.target.services['rabbitmq-cluster']!;
    const { config } = t.lab.target;
    const queue = brokerNames(config.AMQP_PREFIX).queue;
    const event = await createTestEvent(t.sql, [1_000]);
    await stopComponent(t.lab.target.dir, 'worker');
    const accepted = await acceptPurchases(t.lab.target.base, event.id, event.tiers[0]!.id, 60);
    expect((await queueDepths(config))[0]!.messages).toBe(60);

    const { leader: leaderNode } = await cluster.quorumQueue(queue);
    const victim = cluster.nodes.find((n) => n.node === leaderNode)!;
    await victim.kill();
    // Read through a surviving node (queueDepths takes the first of AMQP_URLS that answers).
    await waitFor(async () => (await cluster.quorumQueue(queue)).leader !== leaderNode, { what: 'a new leader' });
    expect((await queueDepths(config))[0]!.messages).toBe(60);

    await startComponent(t.lab.target.dir, 'worker');
    const report = await reconcile(
      {
        sql: t.sql,
        keys: redisKeys(config.REDIS_KEY_PREFIX),
        broker: { url: config.AMQP_URLS, prefix: config.AMQP_PREFIX },
      },
      { eventId: event.id, acceptedIds: accepted, waitForDrainMs: 60_000 },
    );
    expect(report).toMatchObject({ lost: 0, duplicated: 0, oversold: 0, soldMismatch: 0, confirmed: 60, queued: 0 });
    await victim.start();
  }, 180_000);
});
