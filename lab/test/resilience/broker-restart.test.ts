import { redisKeys } from '@stampede/core/redis';
import { describe, expect, it } from 'vitest';
import { brokerRestart } from '../../src/chaos/service-scenarios.js';
import { is, tally } from '../../src/chaos/verdict.js';
import { startComponent, stopComponent } from '../../src/local-lab/lab.js';
import { queueDepths } from '../../src/local-lab/status.js';
import { reconcile } from '../../src/reconcile/reconcile.js';
import { createTestEvent } from '../../testing/fixtures.js';
import {
  acceptPurchases,
  expectEveryAcceptedDecidedOnce,
  expectPass,
  runQuick,
  useScenarioLab,
} from './use-scenario-lab.js';

/** RabbitMQ is a node of the lab's own here (its own name, ports and data), so it can really be restarted. */
describe('resilience: RabbitMQ restarted', () => {
  const t = useScenarioLab({ services: ['rabbitmq'] }, 180_000);

  it('when the broker restarts under load, then purchases get 503 with Retry-After while it is down, are accepted again after, and API and worker reconnect by themselves', async () => {
    const result = await runQuick(brokerRestart, t.lab.target);
    expectPass(result);
    expect(tally(result, 'purchases', 'fault', is('503 broker_unavailable'))).toBeGreaterThan(0);
    expect(result.phases.fault?.unavailableWithoutRetryAfter ?? 0).toBe(0);
    expect(tally(result, 'purchases', 'recovery', is('202'))).toBeGreaterThan(0);
    expect(result.failures.filter((f) => f.kind === 'read')).toEqual([]);
    await expectEveryAcceptedDecidedOnce(t.sql, result);
  }, 180_000);

  it('when the broker restarts with confirmed purchases still in the queue, then none is lost and the worker decides them all after', async () => {
    const event = await createTestEvent(t.sql, [1_000]);
    await stopComponent(t.lab.target.dir, 'worker');
    const accepted = await acceptPurchases(t.lab.target.base, event.id, event.tiers[0]!.id, 60);
    expect((await queueDepths(t.lab.target.config))[0]!.messages).toBe(60);

    await t.lab.target.services.rabbitmq!.stop();
    await t.lab.target.services.rabbitmq!.start();
    // Durable quorum queue, persistent messages: the backlog is still there after the restart.
    expect((await queueDepths(t.lab.target.config))[0]!.messages).toBe(60);

    await startComponent(t.lab.target.dir, 'worker');
    const report = await reconcile(
      {
        sql: t.sql,
        keys: redisKeys(t.lab.target.config.REDIS_KEY_PREFIX),
        broker: { url: t.lab.target.config.AMQP_URL, prefix: t.lab.target.config.AMQP_PREFIX },
      },
      { eventId: event.id, acceptedIds: accepted, waitForDrainMs: 60_000 },
    );
    expect(report).toMatchObject({
      lost: 0,
      duplicated: 0,
      oversold: 0,
      soldMismatch: 0,
      confirmed: 60,
      deadLettered: 0,
      queued: 0,
    });
  }, 180_000);
});
