import { type BackplaneMessage, createBackplanePublisher, subscribeBackplane } from '@stampede/core/backplane';
import { readCachedAvailability } from '@stampede/core/cache';
import { createGate } from '@stampede/core/gate';
import { decidePurchases, type PurchaseMessage } from '@stampede/core/purchases';
import { createRedis, redisKeys } from '@stampede/core/redis';
import { createTestEvent, purchaseMessage, testConfig, testLogger, testSql, waitFor } from '@stampede/lab/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settleAfterCommit } from '../src/after-commit.js';

const config = testConfig();
const log = testLogger(config);
const sql = testSql(config);
const redis = createRedis(config, log);
const keys = redisKeys(config.REDIS_KEY_PREFIX);
const subscriber = subscribeBackplane(config, log);
const heard: BackplaneMessage[] = [];
beforeAll(async () => {
  await subscriber.ready();
  await waitFor(() => redis.status === 'ready', { what: 'redis' });
  subscriber.on('availability_changed', (m) => heard.push(m));
  subscriber.on('sold_out', (m) => heard.push(m));
});
afterAll(async () => {
  await subscriber.close();
  redis.disconnect();
  await sql.end({ timeout: 1 });
});

const afterCommitDeps = {
  config,
  log,
  sql,
  redis,
  keys,
  gate: createGate(redis, keys),
  backplane: createBackplanePublisher(redis, config, log),
};

/** Decides the messages in Postgres and runs what the worker runs after the commit. */
async function decideAndSettle(messages: PurchaseMessage[]): Promise<void> {
  await settleAfterCommit(afterCommitDeps, await decidePurchases(sql, messages, { buyerLimit: 6 }));
}

describe('what the worker announces after a commit', () => {
  it('when a batch over two events empties one tier, then one availability message carries both events as cached, and one sold-out message names that tier alone', async () => {
    const small = await createTestEvent(sql, [3, 50]);
    const other = await createTestEvent(sql, [50]);
    const messages = [
      ...Array.from({ length: 4 }, () => purchaseMessage(small, {}, 0)),
      purchaseMessage(small, {}, 1),
      ...Array.from({ length: 5 }, () => purchaseMessage(other)),
    ];
    await decideAndSettle(messages);
    await waitFor(() => heard.length >= 2, { what: 'the announcements' });
    await new Promise((r) => setTimeout(r, 100));

    const changed = heard.filter((m) => m.kind === 'availability_changed');
    expect(changed).toHaveLength(1);
    const events = changed[0]!.events;
    expect(events.map((e) => e.eventId).sort()).toEqual([small.id, other.id].sort());
    for (const e of events) expect(e.entry).toEqual(await readCachedAvailability(redis, keys, e.eventId));
    const smallTiers = events.find((e) => e.eventId === small.id)!.entry!.value.tiers;
    expect(smallTiers.find((t) => t.tierId === small.tiers[0]!.id)).toMatchObject({ remaining: 0, soldOut: true });

    const soldOut = heard.filter((m) => m.kind === 'sold_out');
    expect(soldOut).toEqual([expect.objectContaining({ tierId: small.tiers[0]!.id, eventId: small.id })]);

    // A later batch rejected on the empty tier announces no second sold-out.
    heard.length = 0;
    await decideAndSettle([purchaseMessage(small, {}, 0)]);
    await waitFor(() => heard.length >= 1, { what: 'the second announcement' });
    await new Promise((r) => setTimeout(r, 100));
    expect(heard.map((m) => m.kind)).toEqual(['availability_changed']);
  });
});
