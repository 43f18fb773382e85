import { assertTopology, type BrokerNames } from '@stampede/core/broker';
import { type Closeable, closeOnce } from '@stampede/core/lifecycle';
import amqplib from 'amqplib';

/** Publishes a persistent message and resolves once the broker confirmed it. */
export interface ConfirmPublisher extends Closeable {
  publish(content: Buffer, messageId: string): Promise<void>;
}

/**
 * The reference's publisher: one amqplib confirm channel on the same topology as
 * Stampede's (a quorum queue), no connection manager, no reconnect. A publish resolves
 * on the broker's ack, exactly the guarantee Stampede's 202 rests on.
 */
export async function openConfirmPublisher(url: string, names: BrokerNames, name: string): Promise<ConfirmPublisher> {
  const connection = await amqplib.connect(url, { clientProperties: { connection_name: name } });
  const channel = await connection.createConfirmChannel();
  await assertTopology(channel, names);
  return {
    publish: (content, messageId) =>
      new Promise((resolve, reject) => {
        channel.publish(
          names.exchange,
          names.routingKey,
          content,
          { persistent: true, contentType: 'application/json', messageId },
          (err) => (err ? reject(err as Error) : resolve()),
        );
      }),
    close: closeOnce(async () => {
      await channel.close().catch(() => undefined);
      await connection.close().catch(() => undefined);
    }),
  };
}
