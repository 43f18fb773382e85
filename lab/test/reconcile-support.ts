import { randomUUID } from 'node:crypto';
import { brokerNames } from '@stampede/core/broker';
import type { Config } from '@stampede/core/config';
import type { Sql } from '@stampede/core/db';
import { placePurchase } from '@stampede/core/purchases';
import { deleteKeysByPrefix, type RedisKeys, redisKeys } from '@stampede/core/redis';
import amqplib from 'amqplib';
import { Redis } from 'ioredis';
import { type ReconcileOptions, reconcile } from '../src/reconcile/reconcile.js';
import { declareTestTopology, deleteTestTopology, publishRaw } from '../testing/broker.js';
import { type TestEvent, testConfig } from '../testing/fixtures.js';

/** One test's own corner of the services: key prefix, queues, and the Redis keys it wrote. */
export interface ReconcileLab {
  config: Config;
  keys: RedisKeys;
  redis: Redis;
  run(options: ReconcileOptions): ReturnType<typeof reconcile>;
  close(): Promise<void>;
}

export async function openLab(sql: Sql): Promise<ReconcileLab> {
  const config = testConfig();
  const keys = redisKeys(config.REDIS_KEY_PREFIX);
  const redis = new Redis(config.REDIS_URL);
  await declareTestTopology(config.AMQP_PREFIX);
  return {
    config,
    keys,
    redis,
    run: (options) =>
      reconcile({ sql, redis, keys, broker: { url: config.AMQP_URL, prefix: config.AMQP_PREFIX } }, options),
    async close() {
      await deleteKeysByPrefix(config.REDIS_URL, config.REDIS_KEY_PREFIX);
      await redis.quit();
      await deleteTestTopology(config.AMQP_PREFIX);
    },
  };
}

/** A fresh Idempotency-Key; its purchase id is placePurchase(key, eventId, 1).purchaseId. */
export function newKey(): string {
  return `reconcile-test-${randomUUID()}`;
}

/**
 * Writes a decided purchase as the worker would (id derived from the key; a confirmed
 * one moves tiers.sold) unless told otherwise, to build the states the tests check.
 */
export async function insertPurchase(
  sql: Sql,
  event: TestEvent,
  tierIndex: number,
  o: {
    key?: string;
    quantity?: number;
    status?: 'confirmed' | 'rejected';
    reason?: string;
    id?: string;
    moveSold?: boolean;
  } = {},
): Promise<string> {
  const key = o.key ?? newKey();
  const id = o.id ?? placePurchase(key, event.id, 1).purchaseId;
  const status = o.status ?? 'confirmed';
  const quantity = o.quantity ?? 1;
  const tierId = event.tiers[tierIndex]!.id;
  // One transaction, as the worker commits: a reconcile running meanwhile never sees the row without its sold.
  await sql.begin(async (tx) => {
    await tx`insert into purchases (id, idempotency_key, event_id, tier_id, buyer_id, quantity, status, reason)
      values (${id}, ${key}, ${event.id}, ${tierId}, 'buyer-1', ${quantity}, ${status}, ${status === 'rejected' ? (o.reason ?? 'sold_out') : null})`;
    if (status === 'confirmed' && o.moveSold !== false)
      await tx`update tiers set sold = sold + ${quantity} where id = ${tierId}`;
  });
  return id;
}

/** Publishes a purchase message for `purchaseId` to the lab's queue, as the API would. */
export function queuePurchase(lab: ReconcileLab, event: TestEvent, purchaseId: string): Promise<void> {
  const body = {
    v: 1,
    purchaseId,
    idempotencyKey: `k-${purchaseId}`,
    eventId: event.id,
    tierId: event.tiers[0]!.id,
    buyerId: 'b',
    quantity: 1,
    acceptedAt: new Date().toISOString(),
    gated: true,
  };
  return publishRaw(lab.config.AMQP_PREFIX, Buffer.from(JSON.stringify(body)));
}

/** Puts a message straight into the lab's dead-letter queue, as a poison message would end up. */
export async function deadLetter(lab: ReconcileLab): Promise<void> {
  const names = brokerNames(lab.config.AMQP_PREFIX);
  const conn = await amqplib.connect(lab.config.AMQP_URL);
  try {
    const ch = await conn.createConfirmChannel();
    ch.publish(names.deadLetterExchange, names.routingKey, Buffer.from('{"poison":true}'), { persistent: true });
    await ch.waitForConfirms();
  } finally {
    await conn.close().catch(() => {});
  }
}
