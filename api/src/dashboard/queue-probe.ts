import { connectFirst } from '@stampede/core/broker';
import type amqp from 'amqplib';
import { within } from './system-probes.js';

export interface QueueFigures {
  ready: number;
  consumers: number;
}

export interface QueueProbe {
  /**
   * Ready messages of the purchase queues (the shared one and the lanes, summed) and the
   * shared queue's consumers (every worker consumes it, lanes or not: one per worker), by
   * passive declares; undefined while the broker cannot be asked.
   */
  check(): Promise<QueueFigures | undefined>;
  close(): Promise<void>;
}

/**
 * Passive checks of the purchase queues (`queues[0]` the shared one) on a connection of its own, opened when the
 * dashboard is first watched and closed when nobody watches: the publisher's confirm
 * channel is never put at risk (a failed passive declare closes its channel), and a
 * replica nobody watches holds no extra connection.
 */
export function createQueueProbe(urls: string[], queues: readonly string[], timeoutMs: number): QueueProbe {
  let connecting: Promise<amqp.Channel> | undefined;
  let connection: amqp.ChannelModel | undefined;

  function drop(): void {
    connecting = undefined;
    const c = connection;
    connection = undefined;
    c?.close().catch(() => undefined);
  }

  function channel(): Promise<amqp.Channel> {
    connecting ??= (async () => {
      const c = await connectFirst(urls, { timeout: timeoutMs });
      connection = c;
      c.on('error', () => undefined);
      c.on('close', () => {
        if (connection === c) drop();
      });
      const ch = await c.createChannel();
      ch.on('error', () => undefined);
      ch.on('close', () => {
        if (connection === c) drop();
      });
      return ch;
    })();
    connecting.catch(() => drop());
    return connecting;
  }

  return {
    async check() {
      try {
        const answers = await within(
          timeoutMs,
          channel().then((ch) => Promise.all(queues.map((q) => ch.checkQueue(q)))),
        );
        const ready = answers.reduce((n, a) => n + a.messageCount, 0);
        return { ready, consumers: answers[0]?.consumerCount ?? 0 };
      } catch {
        drop();
        return undefined;
      }
    },
    async close() {
      drop();
    },
  };
}
