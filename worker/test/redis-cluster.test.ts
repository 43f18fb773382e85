import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { type BackplaneMessage, createBackplanePublisher, subscribeBackplane } from '@stampede/core/backplane';
import { cachedNow, readCachedAvailability, writeCachedAvailability } from '@stampede/core/cache';
import { createGate } from '@stampede/core/gate';
import type { PurchaseMessage } from '@stampede/core/purchases';
import { createRedis, type RedisClient, redisKeys } from '@stampede/core/redis';
import { createWaitingRoom } from '@stampede/core/waiting-room';
import {
  gateOnlyEvent,
  purchaseMessage,
  startRedisCluster,
  type TestEvent,
  type TestRedisCluster,
  testConfig,
  testLogger,
  waitFor,
} from '@stampede/lab/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admitOne, admitThroughGate } from './worker-fixture.js';

const run = promisify(execFile);
let cluster: TestRedisCluster;
let redis: RedisClient;
let config: ReturnType<typeof testConfig>;

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3, replicasEach: 1 });
  config = testConfig({ REDIS_CLUSTER_NODES: cluster.nodes, REDIS_COMMAND_TIMEOUT_MS: 2_000 });
  redis = createRedis(config, testLogger(config));
  await waitFor(() => redis.status === 'ready', { what: 'cluster client' });
}, 60_000);
afterAll(async () => {
  await redis?.close();
  await cluster?.close();
});

/** The port of the master serving a slot. */
async function masterOfSlot(slot: number): Promise<number> {
  const ranges = await redis.cluster('SLOTS');
  const owner = ranges.find(([from, to]) => slot >= from && slot <= to);
  if (!owner) throw new Error(`no master serves slot ${slot}`);
  return owner[2][1];
}

/** A gated purchase of `quantity` placed in bucket `home` of the event's split tier. */
function homedAt(event: TestEvent, home: number, quantity: number): PurchaseMessage {
  for (;;) {
    const m = purchaseMessage(event, { gated: true, quantity });
    if (m.bucket === home) return m;
  }
}

/** How many keys each master holds now. */
async function keysPerMaster(): Promise<number[]> {
  const masters = await cluster.masters();
  return Promise.all(masters.map(async (p) => Number((await run('redis-cli', ['-p', String(p), 'dbsize'])).stdout)));
}

describe('Stampede on a Redis Cluster of three masters and three replicas', () => {
  it('when the gate primes, admits, undoes, settles and reconciles, then every script runs (no CROSSSLOT) and the figures add up', async () => {
    expect(await cluster.masters()).toHaveLength(3);
    const keys = redisKeys(config.REDIS_KEY_PREFIX);
    const gate = createGate(redis, keys);
    const event: TestEvent = gateOnlyEvent(10);
    const tier = event.tiers[0]!;
    await gate.prime(tier, 10);
    expect(await gate.tiers()).toContain(tier.id);

    const messages = Array.from({ length: 4 }, () => purchaseMessage(event, { gated: true }));
    expect(await admitThroughGate(gate, messages)).toEqual(['admitted', 'admitted', 'admitted', 'admitted']);
    expect(await admitThroughGate(gate, [messages[0]!])).toEqual(['duplicate']);
    expect(await gate.knowsKey(messages[0]!.idempotencyKey, event.id)).toBe(true);
    expect((await gate.tierStates([tier.id])).get(tier.id)).toEqual({ stock: 6, held: 4 });

    await gate.undo(messages[3]!);
    expect((await gate.tierStates([tier.id])).get(tier.id)).toEqual({ stock: 7, held: 3 });

    const decidedAt = new Date().toISOString();
    const released = await gate.settleMany(
      [
        { message: messages[0]!, settlement: { status: 'confirmed', reason: null, decidedAt } },
        { message: messages[1]!, settlement: { status: 'rejected', reason: 'payment_failed', decidedAt } },
      ],
      600,
    );
    expect(released).toBe(2);
    expect(await gate.record(messages[0]!.purchaseId)).toMatchObject({ status: 'confirmed', tierId: tier.id });
    expect((await gate.tierStates([tier.id])).get(tier.id)).toEqual({ stock: 8, held: 1 });

    // Postgres would say 9 left (one confirmed); the stale hold of messages[2] is released.
    const stale = await gate.staleHolds([tier.id], -1_000);
    expect(stale.map((h) => h.purchaseId)).toEqual([messages[2]!.purchaseId]);
    await gate.markRepublished([messages[2]!.purchaseId], decidedAt);
    expect(await gate.reconcileTier(tier.id, 9, [messages[2]!.purchaseId])).toEqual({
      previous: 8,
      stock: 9,
      released: 1,
      changed: true,
      deferred: 0,
    });
    expect(await redis.get(keys.buyer(event.id, messages[2]!.buyerId))).toBe('0');
    await gate.forgetTiers([tier.id]);
    expect(await gate.tiers()).not.toContain(tier.id);
  });

  it('when the gate runs a tier split into 4 buckets, then each bucket sits on another master than the next, its scripts run in its own slot and give back to its bucket', async () => {
    const keys = redisKeys(config.REDIS_KEY_PREFIX);
    const gate = createGate(redis, keys);
    const event: TestEvent = gateOnlyEvent(10, 4);
    const tier = event.tiers[0]!;
    await gate.prime(tier, [3, 3, 2, 2]);
    const masters = await Promise.all(
      [0, 1, 2, 3].map(async (b) =>
        masterOfSlot(Number(await redis.cluster('KEYSLOT', keys.stock(event.id, tier.id, b)))),
      ),
    );
    for (let b = 0; b < 3; b++) expect(masters[b]).not.toBe(masters[b + 1]);
    expect(new Set(masters).size).toBeGreaterThanOrEqual(2);

    // Homed in buckets 0..3 in turn, three tickets each: the short ones top up from the others.
    const messages = [0, 1, 2].map((home) => homedAt(event, home, 3));
    for (const m of messages) expect(await admitOne(gate, m, 4)).toMatchObject({ kind: 'admitted', bucket: m.bucket });
    const state = (await gate.tierStates([tier.id])).get(tier.id)!;
    expect(state).toMatchObject({ stock: 1, held: 9 });
    expect(state.buckets?.reduce((n, b) => n + b, 0)).toBe(1);

    await gate.undo(messages[0]!);
    // The 3 tickets go back to the purchase's bucket.
    const expected = [...state.buckets!];
    expected[messages[0]!.bucket!]! += 3;
    expect((await gate.tierStates([tier.id])).get(tier.id)).toEqual({ stock: 4, held: 6, buckets: expected });
    const decidedAt = new Date().toISOString();
    await gate.settleMany(
      [{ message: messages[1]!, settlement: { status: 'rejected', reason: 'payment_failed', decidedAt } }],
      600,
    );
    expect(await gate.record(messages[1]!.purchaseId)).toMatchObject({ status: 'rejected', bucket: 1 });
    expect((await gate.tierStates([tier.id])).get(tier.id)).toMatchObject({ stock: 7, held: 3 });
    expect(await gate.reconcileTier(tier.id, [3, 3, 2, 2])).toMatchObject({ previous: 7, stock: 7, deferred: 0 });
    await gate.forgetTiers([tier.id]);
    for (let b = 0; b < 4; b++) expect(await redis.exists(keys.stock(tier.eventId, tier.id, b))).toBe(0);
  });

  it('when the availability of many events is cached, then the keys spread over every master and read back', async () => {
    const keys = redisKeys(config.REDIS_KEY_PREFIX);
    const before = await keysPerMaster();
    const ids = Array.from({ length: 60 }, () => randomUUID());
    for (const eventId of ids) {
      const entry = cachedNow({ eventId, soldOut: false, asOf: new Date().toISOString(), tiers: [] });
      await writeCachedAvailability(redis, keys, entry, 60_000);
    }
    const added = (await keysPerMaster()).map((n, i) => n - before[i]!);
    expect(added.reduce((a, b) => a + b, 0)).toBe(60);
    expect(added.every((n) => n > 0)).toBe(true);
    for (const eventId of ids)
      expect((await readCachedAvailability(redis, keys, eventId))?.value.eventId).toBe(eventId);
  });

  it('when buyers join and poll the waiting rooms of several events, then each room runs in its own slot', async () => {
    const room = createWaitingRoom(redis, redisKeys(config.REDIS_KEY_PREFIX), {
      passTtlMs: 60_000,
      heartbeatMs: 30_000,
    });
    const events = Array.from({ length: 6 }, () => randomUUID());
    for (const eventId of events) {
      await room.configure(eventId, { enabled: true, releasePerMinute: 0, maxInside: 1, opensAtMs: 0 });
      const first = await room.join(eventId);
      const second = await room.join(eventId);
      if (first.kind !== 'joined' || second.kind !== 'joined') throw new Error('the room is off');
      // The line is shuffled before the opening: whichever is first, one is let in, not two.
      const kinds = [(await room.poll(eventId, first)).kind, (await room.poll(eventId, second)).kind];
      expect(kinds.sort()).toEqual(['admitted', 'waiting']);
      expect(await room.state(eventId)).toMatchObject({ enabled: true, inside: 1, waiting: 1 });
    }
    const slots = await Promise.all(
      events.map((e) => redis.cluster('KEYSLOT', redisKeys(config.REDIS_KEY_PREFIX).roomLine(e))),
    );
    expect(new Set(slots).size).toBeGreaterThan(1);
  });

  it('when a message is published on the backplane, then a subscriber through the cluster hears it', async () => {
    const log = testLogger(config);
    const sub = subscribeBackplane({ ...config, INSTANCE_NAME: 'listener' }, log);
    try {
      await sub.ready();
      const heard: BackplaneMessage[] = [];
      sub.on('sold_out', (m) => heard.push(m));
      const tierId = randomUUID();
      const eventId = randomUUID();
      expect(await createBackplanePublisher(redis, config, log).publish({ kind: 'sold_out', tierId, eventId })).toBe(
        true,
      );
      await waitFor(() => heard.length === 1, { what: 'the backplane message' });
      expect(heard[0]).toMatchObject({ kind: 'sold_out', tierId, from: config.INSTANCE_NAME });
    } finally {
      await sub.close();
    }
  });
});
