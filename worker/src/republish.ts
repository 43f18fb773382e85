import type { AmqpConnection } from '@golevelup/nestjs-rabbitmq';
import { type BrokerNames, purchaseBody, purchasePublishOptions, purchaseRoutingKey } from '@stampede/core/broker';
import type { PurchaseMessage } from '@stampede/core/purchases';
import type { ConsumeMessage } from 'amqplib';

/** Publishes messages again; resolves with the ids the broker confirmed into the queue. */
export type Republish = (messages: PurchaseMessage[]) => Promise<Set<string>>;

/**
 * Republishes purchases exactly as the API publishes them (persistent, mandatory), on a
 * confirm channel of its own for the call, so a returned message is known: a return
 * arrives before its confirm, so once every confirm is in, the returned ids are all known
 * and the rest is queued. Throws when the broker is not connected or nacks.
 */
export function createRepublish(amqp: AmqpConnection, names: BrokerNames): Republish {
  return async (messages) => {
    const connection = amqp.managedConnection.connection;
    if (!connection) throw new Error('broker not connected');
    const channel = await connection.createConfirmChannel();
    channel.on('error', () => {});
    const returned = new Set<string>();
    channel.on('return', (msg: ConsumeMessage) => returned.add(String(msg.properties.messageId)));
    try {
      for (const m of messages)
        channel.publish(names.exchange, purchaseRoutingKey(names, m), purchaseBody(m), purchasePublishOptions(m));
      await channel.waitForConfirms();
    } finally {
      await channel.close().catch(() => {});
    }
    return new Set(messages.map((m) => m.purchaseId).filter((id) => !returned.has(id)));
  };
}
