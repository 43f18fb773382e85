import {
  assertTopology,
  brokerNames,
  purchaseBody,
  purchasePublishOptions,
  purchaseRoutingKey,
} from '@stampede/core/broker';
import { brokerUrls, type Config } from '@stampede/core/config';
import { type Closeable, closeOnce } from '@stampede/core/lifecycle';
import type { Logger } from '@stampede/core/logger';
import { redactUrl } from '@stampede/core/logger';
import type { PurchaseMessage } from '@stampede/core/purchases';
import amqp, { type AmqpConnectionManager, type ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel, ConsumeMessage } from 'amqplib';

type PublishOptions = NonNullable<Parameters<ChannelWrapper['publish']>[3]>;

/** Publishes purchase messages and resolves only once the broker has confirmed them. */
export interface PurchasePublisher extends Closeable {
  /**
   * Resolves once the broker confirmed the message into the purchase queue. Rejects when
   * the broker is not connected, does not confirm within the timeout, or returned the
   * message as unroutable (no queue bound: the message is not queued).
   */
  publish(message: PurchaseMessage): Promise<void>;
  isConnected(): boolean;
}

/**
 * A confirm channel through amqp-connection-manager. The queue assertions live in the
 * channel's setup function, so they run again after every reconnect. A publish while
 * disconnected fails at once (the request is answered 503) instead of waiting in the
 * wrapper's memory, where a crash would lose it.
 *
 * Every publish is `mandatory`: RabbitMQ confirms a message it routed to no queue (the
 * queue was deleted, or a broker came back without its definitions), so a confirm alone
 * does not mean "queued". Such a message comes back as a basic.return, which the broker
 * sends before its confirm; the publish then fails like an unconfirmed one, and the
 * topology is declared again so the next purchase is routed.
 */
export function createPurchasePublisher(
  config: Pick<
    Config,
    'AMQP_URL' | 'AMQP_URLS' | 'AMQP_PREFIX' | 'AMQP_LANES' | 'PUBLISH_CONFIRM_TIMEOUT_MS' | 'INSTANCE_NAME'
  >,
  log: Logger,
): PurchasePublisher {
  const names = brokerNames(config.AMQP_PREFIX, config.AMQP_LANES);
  // Several URLs (a cluster's nodes): the manager connects to one and, when it is lost, to the next.
  const connection: AmqpConnectionManager = amqp.connect(brokerUrls(config), {
    heartbeatIntervalInSeconds: 5,
    reconnectTimeInSeconds: 1,
    connectionOptions: { clientProperties: { connection_name: `${config.INSTANCE_NAME}-publisher` } },
  });
  let connected = false;
  connection.on('connect', ({ url }) => {
    connected = true;
    log.info({ event: 'broker.connected', url: redactUrl(String(url)) }, 'broker connected');
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

  // Message id of publishes awaiting their confirm (a replay can publish an id twice at once) → returned or not.
  const inFlight = new Map<string, { publishes: number; returned: boolean }>();
  let redeclaring = false;
  const redeclare = (ch: ConfirmChannel) => {
    if (redeclaring) return;
    redeclaring = true;
    assertTopology(ch, names)
      .then(() => log.info({ event: 'broker.topology_declared', queue: names.queue }, 'purchase queue declared again'))
      .catch((err: Error) =>
        log.error({ event: 'broker.topology_failed', err: err.message }, 'declaring the purchase queue failed'),
      )
      .finally(() => {
        redeclaring = false;
      });
  };
  const onReturn = (ch: ConfirmChannel, msg: ConsumeMessage) => {
    const id = msg.properties.messageId as string | undefined;
    const pending = id === undefined ? undefined : inFlight.get(id);
    if (pending) pending.returned = true;
    log.warn(
      { event: 'broker.unroutable', purchaseId: id, exchange: msg.fields.exchange, queue: names.queue },
      'the broker routed a purchase to no queue; declaring the topology again',
    );
    redeclare(ch);
  };

  const channel: ChannelWrapper = connection.createChannel({
    name: 'purchase-publisher',
    confirm: true,
    setup: async (ch: ConfirmChannel) => {
      ch.on('return', (msg: ConsumeMessage) => onReturn(ch, msg));
      await assertTopology(ch, names);
    },
  });
  channel.on('error', (err) => log.error({ event: 'broker.channel_error', err }, 'broker channel error'));

  return {
    async publish(message) {
      if (!connection.isConnected()) throw new Error('broker not connected');
      const id = message.purchaseId;
      const pending = inFlight.get(id) ?? { publishes: 0, returned: false };
      pending.publishes += 1;
      inFlight.set(id, pending);
      try {
        // Given the timeout by assignment, not copied by spread: a spread copy that takes a new
        // member gets a map of its own each time, slow to build and slow for amqplib to read.
        const options: PublishOptions = purchasePublishOptions(message);
        options.timeout = config.PUBLISH_CONFIRM_TIMEOUT_MS;
        await channel.publish(names.exchange, purchaseRoutingKey(names, message), purchaseBody(message), options);
      } finally {
        pending.publishes -= 1;
        if (pending.publishes === 0) inFlight.delete(id);
      }
      // A return arrives before its confirm: by now it has been seen, or there is none.
      if (pending.returned) throw new Error(`the broker routed purchase ${id} to no queue`);
    },
    isConnected: () => connection.isConnected(),
    close: closeOnce(async () => {
      await channel.close();
      await connection.close();
    }),
  };
}
