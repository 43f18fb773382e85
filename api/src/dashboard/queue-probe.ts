import { connectFirst } from '@stampede/core/broker';
import type amqp from 'amqplib';
import { within } from './system-probes.js';

export interface QueueFigures {
  ready: number;
  consumers: number;
}

export interface QueueProbe {
  /** The queue's ready messages and consumers, by a passive declare; undefined while the broker cannot be asked. */
  check(): Promise<QueueFigures | undefined>;
  close(): Promise<void>;
}

/**
 * A passive check of the purchase queue on a connection of its own, opened when the
 * dashboard is first watched and closed when nobody watches: the publisher's confirm
 * channel is never put at risk (a failed passive declare closes its channel), and a
 * replica nobody watches holds no extra connection.
 */
export function createQueueProbe(urls: string[], queue: string, timeoutMs: number): QueueProbe {
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
        const answer = await within(
          timeoutMs,
          channel().then((ch) => ch.checkQueue(queue)),
        );
        return { ready: answer.messageCount, consumers: answer.consumerCount };
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
