import { randomUUID } from 'node:crypto';
import { brokerNames, deleteTopology, laneOf } from '@stampede/core/broker';
import {
  amqpLedger,
  createTestEvent,
  purchaseFigures,
  purchaseMessage,
  startTcpProxy,
  type TestEvent,
  testSql,
  waitFor,
  withChannel,
} from '@stampede/lab/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { useWorkerTestbeds } from './worker-fixture.js';

const sql = testSql();
const testbed = useWorkerTestbeds();
afterAll(() => sql.end({ timeout: 1 }));

const rowsOf = async (event: TestEvent) => (await purchaseFigures(sql, event)).rows;

/** A testbed whose worker reaches the broker through a proxy that keeps the AMQP ledger of its frames. */
async function ledgeredTestbed() {
  const bed = await testbed();
  const ledger = amqpLedger();
  const proxy = await startTcpProxy(5672, '127.0.0.1', ledger.tap);
  bed.onCleanup(() => proxy.close());
  const amqpUrl = bed.config.AMQP_URL.replace(':5672', `:${proxy.port}`);
  return { ...bed, ledger, amqpUrl };
}

describe('acks of a committed batch', () => {
  it('when a backlog drains over two lanes, then every delivery is acked once, by far fewer frames than purchases, and nothing is left unacked', async () => {
    const { config, broker, ledger, amqpUrl, start, onCleanup } = await ledgeredTestbed();
    const lanes = brokerNames(config.AMQP_PREFIX, 2);
    onCleanup(() => withChannel((ch) => deleteTopology(ch, lanes)).catch(() => undefined));
    const n = 3_000;
    const event = await createTestEvent(
      sql,
      Array.from({ length: 16 }, () => n),
    );
    // Two tiers of different lanes: their batches run side by side and their deliveries interleave on one channel.
    const tierIndexes = [0, 1].map((lane) => event.tiers.findIndex((t) => laneOf(t.id, 0, 2) === lane));
    expect(tierIndexes).not.toContain(-1);
    const messages = Array.from({ length: n }, (_, i) => purchaseMessage(event, {}, tierIndexes[i % 2]));
    await broker.publish(messages);

    const worker = await start({ AMQP_URL: amqpUrl, AMQP_LANES: 2 });
    await waitFor(async () => (await rowsOf(event)) === n, { timeoutMs: 60_000, what: 'every purchase decided' });
    await waitFor(async () => ledger.deliveries === n && ledger.unacked() === 0, { what: 'every delivery acked' });

    expect(ledger.violations).toEqual([]);
    expect(ledger.acked).toBe(n);
    expect(ledger.nacked).toBe(0);
    expect(ledger.ackFrames).toBeLessThan(n / 10);
    const figures = await purchaseFigures(sql, event);
    expect(figures.rows).toBe(n);
    expect(figures.count('confirmed')).toBe(n);
    expect(figures.sold).toBe(n);

    await worker.kill('SIGTERM');
    expect(await broker.depth(broker.names.queue)).toBe(0); // an unacked delivery would be back in the queue
    expect(await broker.depth(broker.names.deadLetterQueue)).toBe(0);
    process.stdout.write(
      `\n[acks] ${n} deliveries acked by ${ledger.ackFrames} frames (${ledger.multipleAckFrames} multiple)\n`,
    );
  }, 90_000);

  it('when a delivery fails in the middle of a batch, then no ack covers it while it is retried, and it is redelivered and decided exactly once', async () => {
    const { broker, ledger, amqpUrl, start } = await ledgeredTestbed();
    const event = await createTestEvent(sql, [1_000]);
    const messages = Array.from({ length: 200 }, () => purchaseMessage(event));
    const failing = messages[25]!;
    // A row of another event holding the failing purchase's id: its insert fails (not transient) until the row goes.
    const blocker = await createTestEvent(sql, [1]);
    await sql`insert into purchases (id, idempotency_key, event_id, tier_id, buyer_id, quantity, status)
      values (${failing.purchaseId}, ${`blocker-${randomUUID()}`}, ${blocker.id}, ${blocker.tiers[0]!.id}, 'blocker', 1, 'confirmed')`;
    await broker.publish(messages);

    await start({
      AMQP_URL: amqpUrl,
      WORKER_BATCH_SIZE: 50,
      WORKER_MAX_ATTEMPTS: 50,
      WORKER_RETRY_BASE_MS: 200,
      WORKER_RETRY_MAX_MS: 200,
    });
    await waitFor(async () => (await rowsOf(event)) === 199 && ledger.nacked >= 2, {
      timeoutMs: 60_000,
      what: 'every other purchase decided, the failing one retried',
    });
    expect(ledger.unacked()).toBeLessThanOrEqual(1); // only the failing delivery, if it is in hand now
    await sql`delete from events where id = ${blocker.id}`;
    await waitFor(async () => (await rowsOf(event)) === 200, { timeoutMs: 30_000, what: 'the failing one decided' });
    await waitFor(async () => ledger.unacked() === 0, { what: 'every delivery settled' });

    expect(ledger.violations).toEqual([]);
    expect(ledger.acked).toBe(200);
    expect(ledger.deliveries).toBe(200 + ledger.nacked); // each retry was a nack of its own, then a redelivery
    const rows = await sql<{ id: string; status: string }[]>`
      select id, status from purchases where idempotency_key = ${failing.idempotencyKey}`;
    expect(rows).toEqual([{ id: failing.purchaseId, status: 'confirmed' }]);
    const figures = await purchaseFigures(sql, event);
    expect(figures.rows).toBe(200);
    expect(figures.sold).toBe(200);
    expect(await broker.depth(broker.names.queue)).toBe(0);
    expect(await broker.depth(broker.names.deadLetterQueue)).toBe(0);
  }, 90_000);
});
