import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { createTestEvent, purchaseMessage, testSql, waitFor } from '@stampede/lab/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { useWorkerTestbeds } from './worker-fixture.js';

const sql = testSql();
const testbed = useWorkerTestbeds();
afterAll(() => sql.end({ timeout: 1 }));

/** The value of one series of a Prometheus text exposition (labels in the order written), or undefined. */
function series(text: string, name: string, labels = ''): number | undefined {
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`${name}{${labels}`) || (labels === '' && l.startsWith(`${name} `)));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** This machine's first address that is not loopback, if it has one. */
const outsideAddress = Object.values(networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

/** Whether a TCP connect to host:port is accepted. */
const accepts = (host: string, port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, host);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

describe("the worker's /metrics", () => {
  it.skipIf(!outsideAddress)(
    'when the worker starts with the default settings, then its metrics port answers on loopback only; WORKER_METRICS_HOST opens it',
    async () => {
      const { start } = await testbed();
      // HOST is the API's listen address (0.0.0.0 by default); it no longer decides the worker's.
      const worker = await start({ HOST: '0.0.0.0' });
      expect((await fetch(`http://127.0.0.1:${worker.port}/health/live`)).status).toBe(200);
      expect(await accepts(outsideAddress!, worker.port)).toBe(false);
      await worker.kill('SIGTERM');

      const open = await start({ WORKER_METRICS_HOST: '0.0.0.0' });
      expect(await accepts(outsideAddress!, open.port)).toBe(true);
    },
    60_000,
  );

  it('when purchases are decided and one is poison, then outcomes, dead-letters, batches and the queue depth are counted', async () => {
    const { broker, start } = await testbed();
    const event = await createTestEvent(sql, [2]);
    const good = [purchaseMessage(event), purchaseMessage(event), purchaseMessage(event)];
    const poison = purchaseMessage(event, { tierId: '00000000-0000-4000-8000-00000000dead' });
    await broker.publish([...good, poison]);
    const worker = await start();
    await waitFor(async () => (await broker.depth(broker.names.deadLetterQueue)) === 1, {
      timeoutMs: 20_000,
      what: 'the dead letter',
    });
    await waitFor(async () => (await sql`select 1 from purchases where event_id = ${event.id}`).length === 3, {
      timeoutMs: 20_000,
      what: 'three decisions',
    });

    const res = await fetch(`http://127.0.0.1:${worker.port}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(series(text, 'stampede_messages_processed_total', 'outcome="confirmed",reason=""')).toBe(2);
    expect(series(text, 'stampede_messages_processed_total', 'outcome="rejected",reason="sold_out"')).toBe(1);
    expect(series(text, 'stampede_messages_processed_total', 'outcome="dead_lettered",reason="unknown_tier"')).toBe(1);
    expect(series(text, 'stampede_dead_lettered_total', 'reason="unknown_tier"')).toBe(1);
    expect(series(text, 'stampede_batch_size_sum')).toBe(4);
    expect(series(text, 'stampede_batch_duration_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(series(text, 'stampede_queue_depth')).toBe(0);
    expect(text).toMatch(/instance="test-[0-9a-f]{8}",component="worker"/);
  }, 60_000);
});
