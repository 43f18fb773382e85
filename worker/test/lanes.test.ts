import {
  assertTopology,
  brokerNames,
  deleteTopology,
  laneOf,
  purchaseBody,
  purchasePublishOptions,
  purchaseRoutingKey,
} from '@stampede/core/broker';
import { decisionsOfLine } from '@stampede/core/decision-log';
import type { PurchaseMessage } from '@stampede/core/purchases';
import { createTestEvent, purchaseFigures, purchaseMessage, testSql, waitFor } from '@stampede/lab/testing';
import amqp from 'amqplib';
import { afterAll, describe, expect, it } from 'vitest';
import { useWorkerTestbeds } from './worker-fixture.js';

const sql = testSql();
const testbed = useWorkerTestbeds();
afterAll(() => sql.end({ timeout: 1 }));

/** The test's lanes: declared as API and worker declare them, published to as the API publishes, deleted after. */
async function laneBroker(prefix: string, lanes: number, onCleanup: (fn: () => Promise<unknown>) => void) {
  const names = brokerNames(prefix, lanes);
  const connection = await amqp.connect(process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672');
  const channel = await connection.createConfirmChannel();
  await assertTopology(channel, names);
  onCleanup(async () => {
    await deleteTopology(channel, names);
    await connection.close();
  });
  return {
    names,
    async publish(messages: PurchaseMessage[]) {
      for (const m of messages)
        channel.publish(names.exchange, purchaseRoutingKey(names, m), purchaseBody(m), purchasePublishOptions(m));
      await channel.waitForConfirms();
    },
    depth: async (queue: string) => (await channel.checkQueue(queue)).messageCount,
    deadLetters: async () => {
      const out: amqp.GetMessage[] = [];
      for (let m = await channel.get(names.deadLetterQueue); m; m = await channel.get(names.deadLetterQueue)) {
        out.push(m);
        channel.ack(m);
      }
      return out;
    },
  };
}

const confirmedIds = async (tierId: string) =>
  new Set(
    (await sql<{ id: string }[]>`select id from purchases where tier_id = ${tierId} and status = 'confirmed'`).map(
      (r) => r.id,
    ),
  );
const rowsOf = async (eventId: string) =>
  (await sql<{ n: number }[]>`select count(*)::int as n from purchases where event_id = ${eventId}`)[0]!.n;

describe('decision lanes', () => {
  it('laneOf is the same lane for the same (tier, bucket), within range, and spreads tiers', () => {
    const tiers = Array.from({ length: 400 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
    const lanes = tiers.map((t) => laneOf(t, 0, 4));
    expect(tiers.map((t) => laneOf(t, 0, 4))).toEqual(lanes);
    expect(lanes.every((l) => l >= 0 && l < 4)).toBe(true);
    for (let l = 0; l < 4; l += 1) expect(lanes.filter((x) => x === l).length).toBeGreaterThan(60);
    expect(new Set(Array.from({ length: 16 }, (_, b) => laneOf(tiers[0]!, b, 4))).size).toBeGreaterThan(1);
    expect(laneOf(tiers[0]!, 3, 1)).toBe(0);
  });

  it('when purchases of eight tiers travel four lanes, then each lane holds its tiers, each tier is decided in publish order, and poison still reaches the DLQ', async () => {
    const { config, start, onCleanup } = await testbed();
    const broker = await laneBroker(config.AMQP_PREFIX, 4, onCleanup);
    const event = await createTestEvent(sql, Array(8).fill(30));
    // Interleaved across tiers; per tier, the first 30 published must be the 30 confirmed.
    const messages = Array.from({ length: 60 }, () => event.tiers.map((_, t) => purchaseMessage(event, {}, t))).flat();
    const poison = purchaseMessage(event, { tierId: '00000000-0000-4000-8000-00000000dead' });
    await broker.publish([...messages, poison]);

    const expected = [0, 0, 0, 0];
    for (const m of [...messages, poison]) expected[laneOf(m.tierId, 0, 4)]! += 1;
    expect(await Promise.all(broker.names.lanes.map((q) => broker.depth(q)))).toEqual(expected);
    expect(expected.filter((n) => n > 0).length).toBeGreaterThan(1);

    await start({ AMQP_LANES: 4, WORKER_BATCH_SIZE: 7, WORKER_PREFETCH: 14 });
    await waitFor(async () => (await rowsOf(event.id)) === messages.length, { timeoutMs: 60_000, what: 'all decided' });

    for (const tier of event.tiers) {
      const published = messages.filter((m) => m.tierId === tier.id).map((m) => m.purchaseId);
      expect(await confirmedIds(tier.id)).toEqual(new Set(published.slice(0, 30)));
    }
    const dead = await waitFor(async () => {
      const got = await broker.deadLetters();
      return got.length > 0 ? got : undefined;
    });
    expect(dead).toHaveLength(1);
    expect(dead[0]!.properties.headers).toMatchObject({
      'x-death-reason': 'unknown_tier',
      'x-original-queue': broker.names.lanes[laneOf(poison.tierId, 0, 4)],
    });
    await waitFor(
      async () => (await Promise.all(broker.names.queues.map((q) => broker.depth(q)))).every((n) => n === 0),
      { what: 'every lane drained' },
    );
  }, 120_000);

  it('when two workers each hold a share of four lanes, then each decides its own lanes, and when one is SIGKILLed its standby takes them over', async () => {
    const { config, start, onCleanup } = await testbed();
    const broker = await laneBroker(config.AMQP_PREFIX, 4, onCleanup);
    const event = await createTestEvent(sql, Array(8).fill(100));
    const round = () =>
      Array.from({ length: 10 }, () => event.tiers.map((_, t) => purchaseMessage(event, {}, t))).flat();
    const laneParity = (m: PurchaseMessage) => laneOf(m.tierId, 0, 4) % 2;
    const shared = { AMQP_LANES: 4, WORKER_BATCH_SIZE: 20, WORKER_STANDBY_DELAY_MS: 3_000 };
    // Started together, as a deployment starts them: each subscribes to its share at boot,
    // and to the other share only once the standby delay has passed.
    const workers = await Promise.all([
      start({ ...shared, WORKER_LANE_SHARE: '0/2', INSTANCE_NAME: `${config.INSTANCE_NAME}-a` }),
      start({ ...shared, WORKER_LANE_SHARE: '1/2', INSTANCE_NAME: `${config.INSTANCE_NAME}-b` }),
    ]);
    const standbys = (w: (typeof workers)[number]) =>
      w.logs.filter((l) => l.event === 'consumer.started' && l.standby === true).length;
    await waitFor(() => workers.every((w) => standbys(w) === 2) || undefined, {
      what: 'both standing by for the other share',
    });
    const deciderOf = () => {
      const by = new Map<string, number>();
      workers.forEach((w, i) => {
        for (const line of w.logs.filter((l) => l.event === 'batch.committed'))
          for (const d of decisionsOfLine(line)) by.set(d.purchaseId, i);
      });
      return by;
    };

    const first = round();
    expect(new Set(first.map(laneParity))).toEqual(new Set([0, 1])); // both shares have purchases
    await broker.publish(first);
    await waitFor(async () => (await rowsOf(event.id)) === first.length, {
      timeoutMs: 60_000,
      what: 'round 1 decided',
    });
    // Each batch line is written before its acks, but the logger flushes within 50 ms.
    const decided = await waitFor(() => {
      const by = deciderOf();
      return first.every((m) => by.has(m.purchaseId)) ? by : undefined;
    });
    expect(first.map((m) => decided.get(m.purchaseId))).toEqual(first.map(laneParity));

    await workers[0]!.kill('SIGKILL');
    const second = round();
    await broker.publish(second);
    await waitFor(async () => (await rowsOf(event.id)) === first.length + second.length, {
      timeoutMs: 60_000,
      what: 'round 2 decided by the survivor',
    });
    const after = await waitFor(() => {
      const by = deciderOf();
      return second.every((m) => by.has(m.purchaseId)) ? by : undefined;
    });
    expect(second.every((m) => after.get(m.purchaseId) === 1)).toBe(true);
    const figures = await purchaseFigures(sql, event);
    expect(figures.rows).toBe(160);
    expect(figures.count('confirmed')).toBe(160);
  }, 120_000);

  it('when the active consumer of a lane is SIGKILLed mid-drain, then the waiting worker takes the lane over and nothing is lost, doubled or reordered', async () => {
    const { config, start, onCleanup } = await testbed();
    const broker = await laneBroker(config.AMQP_PREFIX, 2, onCleanup);
    const event = await createTestEvent(sql, [300]);
    const messages = Array.from({ length: 600 }, () => purchaseMessage(event));

    const slow = { AMQP_LANES: 2, WORKER_BATCH_SIZE: 10, WORKER_PREFETCH: 20, PAYMENT_LATENCY_MS: 100 };
    const first = await start({ ...slow, INSTANCE_NAME: `${config.INSTANCE_NAME}-a` });
    const second = await start({ ...slow, INSTANCE_NAME: `${config.INSTANCE_NAME}-b` });
    // Published once both subscribe, so the drain outlasts the second worker's boot.
    await broker.publish(messages);
    const commits = (w: typeof first) => w.logs.filter((l) => l.event === 'batch.committed').length;
    await waitFor(async () => commits(first) >= 3 || undefined, {
      timeoutMs: 30_000,
      what: 'the first worker deciding',
    });
    // A single active consumer: the worker that subscribed second waits.
    expect(commits(second)).toBe(0);
    await first.kill('SIGKILL');
    const atKill = await rowsOf(event.id);
    expect(atKill).toBeLessThan(messages.length);

    await waitFor(async () => (await rowsOf(event.id)) === messages.length, { timeoutMs: 60_000, what: 'all decided' });
    expect(commits(second)).toBeGreaterThan(0);
    const figures = await purchaseFigures(sql, event);
    expect(figures.rows).toBe(600);
    expect(figures.sold).toBe(300);
    expect(figures.count('confirmed')).toBe(300);
    expect(await confirmedIds(event.tiers[0]!.id)).toEqual(new Set(messages.slice(0, 300).map((m) => m.purchaseId)));
  }, 120_000);
});
