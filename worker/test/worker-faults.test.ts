import { decisionsOfLine } from '@stampede/core/decision-log';
import {
  createTestEvent,
  purchaseFigures,
  purchaseMessage,
  startTcpProxy,
  testDatabaseUrlVia,
  testSql,
  waitFor,
} from '@stampede/lab/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { useWorkerTestbeds } from './worker-fixture.js';

const sql = testSql();
const testbed = useWorkerTestbeds();
afterAll(() => sql.end({ timeout: 1 }));

const rowsOf = async (eventId: string) =>
  (await sql<{ n: number }[]>`select count(*)::int as n from purchases where event_id = ${eventId}`)[0]!.n;

describe('the purchase worker under faults', () => {
  it('when the worker is killed -9 after a commit but before the ack, and mid-batch, then every purchase is final exactly once', async () => {
    const { broker, start, onCleanup } = await testbed();
    const redisProxy = await startTcpProxy(6379);
    onCleanup(() => redisProxy.close());
    const event = await createTestEvent(sql, [300]);
    const messages = Array.from({ length: 400 }, () => purchaseMessage(event));
    // Slow payments keep a batch open before its commit; a slow Redis holds a committed batch before its acks.
    const env = {
      WORKER_BATCH_SIZE: 50,
      WORKER_PREFETCH: 100,
      PAYMENT_LATENCY_MS: 150,
      REDIS_URL: `redis://127.0.0.1:${redisProxy.port}`,
      REDIS_COMMAND_TIMEOUT_MS: 10_000,
    };

    const first = await start(env);
    redisProxy.setDelay(1_500);
    await broker.publish(messages);
    await waitFor(async () => (await rowsOf(event.id)) > 0, { what: 'a first commit' });
    await first.kill('SIGKILL');
    const committed = await sql<{ id: string }[]>`select id from purchases where event_id = ${event.id}`;
    const before = committed.length;
    expect(before).toBeLessThan(messages.length);
    // Committed, never settled nor acked: no batch line either, so these are decided again below.
    expect(first.logs.some((l) => l.event === 'batch.committed')).toBe(false);

    redisProxy.setDelay(0);
    const second = await start(env);
    await waitFor(async () => (await rowsOf(event.id)) === messages.length, {
      timeoutMs: 30_000,
      what: 'all purchases decided',
    });
    await waitFor(async () => (await broker.depth(broker.names.queue)) === 0, { what: 'queue drained' });

    const figures = await purchaseFigures(sql, event);
    expect(figures.rows).toBe(400);
    expect(figures.sold).toBe(300);
    expect(figures.confirmedQuantity).toBe(300);
    expect(figures.count('rejected', 'sold_out')).toBe(100);
    expect(await broker.depth(broker.names.deadLetterQueue)).toBe(0);
    // Every purchase the killed worker committed is named on the second's batch lines, answered from its row.
    const decidedOf = () => second.logs.filter((l) => l.event === 'batch.committed').flatMap((l) => decisionsOfLine(l));
    await waitFor(async () => decidedOf().length >= messages.length, { what: 'every decision logged' });
    const decided = decidedOf();
    const duplicates = new Set(decided.filter((d) => d.duplicate).map((d) => d.purchaseId));
    expect(committed.filter((r) => !duplicates.has(r.id))).toEqual([]);
    expect(new Set(decided.map((d) => d.purchaseId)).size).toBe(messages.length);
    const redelivered = duplicates.size;
    process.stdout.write(
      `\n[kill -9] ${before} committed before the kill; after restart ${redelivered} redeliveries answered from their rows\n`,
    );
  }, 90_000);

  /** A worker whose Postgres is behind a proxy the test controls, with 20 purchases already decided through it. */
  async function workerBehindDbProxy(env: Record<string, string | number>) {
    const { broker, start, onCleanup } = await testbed();
    const proxy = await startTcpProxy(5432);
    onCleanup(() => proxy.close());
    const event = await createTestEvent(sql, [1_000]);
    const worker = await start({
      DATABASE_URL: testDatabaseUrlVia(proxy.port),
      DATABASE_CONNECT_TIMEOUT_S: 1,
      ...env,
    });
    await broker.publish(Array.from({ length: 20 }, () => purchaseMessage(event)));
    await waitFor(async () => (await rowsOf(event.id)) === 20, { what: 'first purchases decided' });
    return { broker, proxy, event, worker };
  }

  it('when Postgres goes away, then nothing is dead-lettered and the backlog is decided after it heals', async () => {
    const { broker, proxy, event, worker } = await workerBehindDbProxy({
      WORKER_RETRY_BASE_MS: 50,
      WORKER_RETRY_MAX_MS: 400,
      WORKER_MAX_ATTEMPTS: 2,
    });

    await proxy.cut();
    await broker.publish(Array.from({ length: 200 }, () => purchaseMessage(event)));
    await waitFor(() => worker.logs.filter((l) => l.event === 'batch.retrying').length >= 5, { what: 'five retries' });
    expect(await broker.depth(broker.names.deadLetterQueue)).toBe(0);
    expect(worker.logs.some((l) => l.event === 'purchase.dead_lettered')).toBe(false);

    await proxy.heal();
    await waitFor(async () => (await rowsOf(event.id)) === 220, {
      timeoutMs: 20_000,
      what: 'backlog decided after heal',
    });
    expect((await purchaseFigures(sql, event)).sold).toBe(220);
    expect(await broker.depth(broker.names.deadLetterQueue)).toBe(0);
    expect(worker.logs.some((l) => l.event === 'purchase.dead_lettered')).toBe(false);
    expect(await worker.kill('SIGTERM')).toBe(0);
  }, 90_000);

  it('when Postgres connections hang without answering or failing, then the batch is abandoned at its deadline, retried on a new connection, and the backlog is decided', async () => {
    const { broker, proxy, event, worker } = await workerBehindDbProxy({
      WORKER_DECIDE_TIMEOUT_MS: 1_000,
      WORKER_RETRY_BASE_MS: 50,
      WORKER_RETRY_MAX_MS: 200,
    });

    // Every open connection now swallows queries forever; no statement timeout can fire.
    proxy.blackhole();
    await broker.publish(Array.from({ length: 100 }, () => purchaseMessage(event)));
    await worker.waitForLog(
      (l) => l.event === 'batch.retrying' && l.code === 'ETIMEDOUT',
      'a batch abandoned at its deadline',
    );

    await proxy.heal();
    await waitFor(async () => (await rowsOf(event.id)) === 120, {
      timeoutMs: 30_000,
      what: 'backlog decided on fresh connections',
    });
    expect((await purchaseFigures(sql, event)).sold).toBe(120);
    expect(await broker.depth(broker.names.deadLetterQueue)).toBe(0);
  }, 90_000);

  it('when the worker is stopped while Postgres is away, then it exits cleanly, gives its messages back, and the next worker decides them', async () => {
    const { broker, start, onCleanup } = await testbed();
    const proxy = await startTcpProxy(5432);
    onCleanup(() => proxy.close());
    const event = await createTestEvent(sql, [100]);
    const env = {
      DATABASE_URL: testDatabaseUrlVia(proxy.port),
      DATABASE_CONNECT_TIMEOUT_S: 1,
      WORKER_RETRY_BASE_MS: 50,
      WORKER_RETRY_MAX_MS: 200,
    };
    const first = await start(env);
    await proxy.cut();
    await broker.publish(Array.from({ length: 50 }, () => purchaseMessage(event)));
    await first.waitForLog((l) => l.event === 'batch.retrying', 'a retry');

    expect(await first.kill('SIGTERM')).toBe(0);
    expect(first.logs.some((l) => l.event === 'shutdown.forced')).toBe(false);
    await waitFor(async () => (await broker.depth(broker.names.queue)) === 50, { what: 'messages back in the queue' });

    await proxy.heal();
    await start(env);
    await waitFor(async () => (await rowsOf(event.id)) === 50, { what: 'decided by the next worker' });
    expect(await broker.depth(broker.names.deadLetterQueue)).toBe(0);
  }, 90_000);

  it('when the broker connection drops and comes back, then the worker reconnects, consumes again and nothing is decided twice', async () => {
    const { config, broker, start, onCleanup } = await testbed();
    const proxy = await startTcpProxy(5672);
    onCleanup(() => proxy.close());
    const event = await createTestEvent(sql, [500]);
    const worker = await start({
      AMQP_URL: config.AMQP_URL.replace(':5672', `:${proxy.port}`),
      PAYMENT_LATENCY_MS: 100,
      WORKER_BATCH_SIZE: 20,
    });
    await broker.publish(Array.from({ length: 200 }, () => purchaseMessage(event)));
    await waitFor(async () => (await rowsOf(event.id)) > 0, { what: 'a first commit' });

    await proxy.cut();
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await proxy.heal();
    await broker.publish(Array.from({ length: 100 }, () => purchaseMessage(event)));
    await waitFor(async () => (await rowsOf(event.id)) === 300, {
      timeoutMs: 30_000,
      what: 'all decided after the reconnect',
    });
    await waitFor(async () => (await broker.depth(broker.names.queue)) === 0, { what: 'queue drained' });
    expect((await purchaseFigures(sql, event)).sold).toBe(300);
    expect(await broker.depth(broker.names.deadLetterQueue)).toBe(0);
    const amqpLines = worker.logs.filter((l) => l.event === 'nest.log').map((l) => String(l.msg));
    expect(amqpLines.some((m) => /Disconnected from RabbitMQ broker/.test(m))).toBe(true);
    expect(amqpLines.filter((m) => /Successfully connected to RabbitMQ broker/.test(m)).length).toBeGreaterThanOrEqual(
      2,
    );
  }, 90_000);
});
