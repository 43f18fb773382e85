import { assertTopology, brokerNames } from '@stampede/core/broker';
import type { Config } from '@stampede/core/config';
import type { Logger } from '@stampede/core/logger';
import { redactUrl } from '@stampede/core/logger';
import type { PurchaseMessage } from '@stampede/core/purchases';
import amqp, { type AmqpConnectionManager, type ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel } from 'amqplib';

/** Publishes purchase messages and resolves only once the broker has confirmed them. */
export interface PurchasePublisher {
  /** Rejects when the broker is not connected or does not confirm within the timeout. */
  publish(message: PurchaseMessage): Promise<void>;
  isConnected(): boolean;
  close(): Promise<void>;
}

/**
 * A confirm channel through amqp-connection-manager. The queue assertions live in the
 * channel's setup function, so they run again after every reconnect. A publish while
 * disconnected fails at once (the request is answered 503) instead of waiting in the
 * wrapper's memory, where a crash would lose it.
 */
export function createPurchasePublisher(
  config: Pick<Config, 'AMQP_URL' | 'AMQP_PREFIX' | 'PUBLISH_CONFIRM_TIMEOUT_MS' | 'INSTANCE_NAME'>,
  log: Logger,
): PurchasePublisher {
  const names = brokerNames(config.AMQP_PREFIX);
  const connection: AmqpConnectionManager = amqp.connect([config.AMQP_URL], {
    heartbeatIntervalInSeconds: 5,
    reconnectTimeInSeconds: 1,
    connectionOptions: { clientProperties: { connection_name: `${config.INSTANCE_NAME}-publisher` } },
  });
  let connected = false;
  connection.on('connect', () => {
    connected = true;
    log.info({ event: 'broker.connected', url: redactUrl(config.AMQP_URL) }, 'broker connected');
  });
  connection.on('disconnect', ({ err }) => {
    if (connected)
      log.warn(
        { event: 'broker.disconnected', err: err?.message },
        'broker connection lost, purchases answer 503 until it is back',
      );
    connected = false;
  });
  connection.on('connectFailed', ({ err }) =>
    log.debug({ event: 'broker.connect_failed', err: err?.message }, 'broker connect failed'),
  );

  const channel: ChannelWrapper = connection.createChannel({
    name: 'purchase-publisher',
    confirm: true,
    setup: (ch: ConfirmChannel) => assertTopology(ch, names),
  });
  channel.on('error', (err) => log.error({ event: 'broker.channel_error', err }, 'broker channel error'));

  return {
    async publish(message) {
      if (!connection.isConnected()) throw new Error('broker not connected');
      await channel.publish(names.exchange, names.routingKey, Buffer.from(JSON.stringify(message)), {
        persistent: true,
        contentType: 'application/json',
        messageId: message.purchaseId,
        timestamp: Math.floor(Date.now() / 1000),
        headers: { 'x-request-id': message.requestId ?? '' },
        timeout: config.PUBLISH_CONFIRM_TIMEOUT_MS,
      });
    },
    isConnected: () => connection.isConnected(),
    async close() {
      await channel.close();
      await connection.close();
    },
  };
}
