import { type BrokerNames, brokerNames, connectFirst } from '@stampede/core/broker';
import type { Channel } from 'amqplib';

/** Messages in the purchase queues (the shared one and the lanes) and in their dead-letter queue. */
export interface QueueDepths {
  /** Ready messages. Unacked (in-flight) ones are not visible over AMQP; see docs/reconcile.md. */
  queued: number;
  deadLettered: number;
}

/**
 * Where to read queue depths: a channel of the caller's, or a URL and prefix to connect with
 * (a list: a cluster's nodes, the first that answers is used), with the lane count.
 */
export type BrokerSource =
  | { channel: Channel; names: BrokerNames }
  | { url: string | readonly string[]; prefix: string; lanes?: number };

export interface BrokerProbe {
  depths(): Promise<QueueDepths>;
  close(): Promise<void>;
}

/**
 * Reads depths with passive declares (checkQueue), so the reconciliation never creates or
 * changes a queue. With a URL, each reading uses a fresh channel: a missing queue closes
 * the channel it was checked on, and one bad reading must not spoil the next.
 */
export async function openBrokerProbe(source: BrokerSource): Promise<BrokerProbe> {
  if ('channel' in source) {
    return { depths: () => readDepths(source.channel, source.names), close: async () => {} };
  }
  const names = brokerNames(source.prefix, source.lanes);
  const conn = await connectFirst(typeof source.url === 'string' ? [source.url] : source.url, { timeout: 3_000 });
  conn.on('error', () => {});
  return {
    async depths() {
      const ch = await conn.createChannel();
      ch.on('error', () => {});
      try {
        return await readDepths(ch, names);
      } finally {
        await ch.close().catch(() => {});
      }
    },
    close: () => conn.close().catch(() => {}),
  };
}

async function readDepths(ch: Channel, names: BrokerNames): Promise<QueueDepths> {
  const count = async (queue: string) => {
    try {
      return (await ch.checkQueue(queue)).messageCount;
    } catch (err) {
      // The broker's 404 is long and cryptic; the likely cause is a lab never started with this AMQP_PREFIX.
      if ((err as { code?: number }).code === 404) throw new Error(`queue ${queue} does not exist (check AMQP_PREFIX)`);
      throw err;
    }
  };
  let queued = 0;
  for (const queue of names.queues) queued += await count(queue);
  return { queued, deadLettered: await count(names.deadLetterQueue) };
}
