import type { AmqpConnection } from '@golevelup/nestjs-rabbitmq';
import type { BrokerNames } from '@stampede/core/broker';
import type { Logger } from '@stampede/core/logger';
import type { ConsumeMessage, Options } from 'amqplib';
import { type DeadLetterReason, deliveryTrace } from './delivery.js';

/** How long the broker may take to confirm a dead-lettered copy before the delivery is requeued instead. */
const CONFIRM_TIMEOUT_MS = 5_000;

/**
 * Sends a copy of the delivery, body untouched, to the dead-letter exchange with the
 * reason in its headers (`x-death-reason`, `x-death-detail`), and resolves once the
 * broker confirmed it — only then may the original be acked. A crash between the two
 * leaves a second copy in the DLQ, never none.
 */
export async function deadLetter(
  amqp: AmqpConnection,
  names: BrokerNames,
  log: Logger,
  msg: ConsumeMessage,
  /** The queue it was delivered from, and why it goes. */
  { queue, reason, detail }: { queue: string; reason: DeadLetterReason; detail: string },
  instance: string,
): Promise<void> {
  const { 'x-delivery-count': _count, ...headers } = msg.properties.headers ?? {};
  const options: Options.Publish & { timeout: number } = {
    persistent: true,
    contentType: msg.properties.contentType,
    messageId: msg.properties.messageId,
    correlationId: msg.properties.correlationId,
    timestamp: msg.properties.timestamp,
    headers: {
      ...headers,
      'x-death-reason': reason,
      'x-death-detail': detail.slice(0, 1_000),
      'x-death-at': new Date().toISOString(),
      'x-death-by': instance,
      'x-original-queue': queue,
    },
    timeout: CONFIRM_TIMEOUT_MS,
  };
  await amqp.publish(names.deadLetterExchange, names.routingKey, msg.content, options);
  log.error(
    { event: 'purchase.dead_lettered', reason, detail, ...deliveryTrace(msg), deadLetterQueue: names.deadLetterQueue },
    `message dead-lettered: ${reason}`,
  );
}
