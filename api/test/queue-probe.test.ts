import { randomUUID } from 'node:crypto';
import { assertTopology, brokerNames, deleteTopology, laneRoutingKey } from '@stampede/core/broker';
import amqp from 'amqplib';
import { describe, expect, it } from 'vitest';
import { createQueueProbe } from '../src/dashboard/queue-probe.js';

const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

describe('dashboard queue probe', () => {
  it('when purchases wait in the shared queue and in lanes, then ready is their sum and consumers are the shared queue’s', async () => {
    const names = brokerNames(`test.probe.${randomUUID().slice(0, 8)}`, 3);
    const connection = await amqp.connect(AMQP_URL);
    const channel = await connection.createConfirmChannel();
    const probe = createQueueProbe([AMQP_URL], names.queues, 2_000);
    try {
      await assertTopology(channel, names);
      const publish = (key: string, n: number) => {
        for (let i = 0; i < n; i += 1) channel.publish(names.exchange, key, Buffer.from('{}'), { persistent: true });
      };
      publish(names.routingKey, 1);
      publish(laneRoutingKey(0), 2);
      publish(laneRoutingKey(2), 4);
      await channel.waitForConfirms();
      // One consumer on the shared queue, as one worker holds; a lane's consumer is not a second worker.
      await channel.prefetch(1);
      const idle = await connection.createChannel();
      await idle.consume(names.lanes[1]!, () => undefined);
      await channel.consume(names.queue, () => undefined, { noAck: false });
      // The shared queue's one message is now unacked with its consumer: 6 wait in the lanes.
      let figures = await probe.check();
      for (let i = 0; i < 50 && figures?.ready !== 6; i += 1) {
        await new Promise((r) => setTimeout(r, 100));
        figures = await probe.check();
      }
      expect(figures).toEqual({ ready: 6, consumers: 1 });
      await idle.close();
    } finally {
      await probe.close();
      await deleteTopology(channel, names).catch(() => undefined);
      await connection.close();
    }
  });

  it('when a lane queue is missing, then the check answers undefined rather than a partial sum', async () => {
    const names = brokerNames(`test.probe.${randomUUID().slice(0, 8)}`, 2);
    const connection = await amqp.connect(AMQP_URL);
    const channel = await connection.createChannel();
    const probe = createQueueProbe([AMQP_URL], [...names.queues, `${names.queue}.absent`], 2_000);
    try {
      await assertTopology(channel, names);
      expect(await probe.check()).toBeUndefined();
    } finally {
      await probe.close();
      await deleteTopology(channel, names).catch(() => undefined);
      await connection.close();
    }
  });
});
