import amqplib, { type ChannelModel } from 'amqplib';

/** amqplib's socket options (`timeout`, …). */
type SocketOptions = Parameters<typeof amqplib.connect>[1];

/**
 * An amqplib connection to the first of `urls` that accepts one, in order: a tool's or a
 * probe's short-lived connection to a cluster, where any node will do and one may be down.
 * Rejects with the last node's error when none answers.
 */
export async function connectFirst(urls: readonly string[], options: SocketOptions = {}): Promise<ChannelModel> {
  let last: unknown = new Error('no broker URL given');
  for (const url of urls) {
    try {
      return await amqplib.connect(url, options);
    } catch (err) {
      last = err;
    }
  }
  throw last;
}
