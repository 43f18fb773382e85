import type { Channel } from 'amqplib';

/** Names of the exchanges and queues of one lab (or one test), under its AMQP prefix. */
export function brokerNames(prefix: string) {
  return {
    exchange: `${prefix}.purchases`,
    queue: `${prefix}.purchases`,
    routingKey: 'purchase',
    deadLetterExchange: `${prefix}.purchases.dlx`,
    deadLetterQueue: `${prefix}.purchases.dlq`,
  };
}

export type BrokerNames = ReturnType<typeof brokerNames>;

/**
 * The purchase queue is a quorum queue: durable and replicated by design, with a
 * delivery limit as the last safety net against a message that crashes every consumer.
 * The worker dead-letters poison on its own long before (WORKER_MAX_ATTEMPTS); the
 * limit is high so that worker restarts alone never push a good purchase to the DLQ.
 */
export const QUEUE_DELIVERY_LIMIT = 50;

export function purchaseQueueArguments(names: BrokerNames): Record<string, unknown> {
  return {
    'x-queue-type': 'quorum',
    'x-dead-letter-exchange': names.deadLetterExchange,
    'x-dead-letter-routing-key': names.routingKey,
    'x-delivery-limit': QUEUE_DELIVERY_LIMIT,
  };
}

/**
 * Declares the purchase exchange and queue and the dead-letter pair. Idempotent: it is
 * the setup function of every channel, rerun after each reconnect, by API and worker.
 */
export async function assertTopology(channel: Channel, names: BrokerNames): Promise<void> {
  await channel.assertExchange(names.deadLetterExchange, 'direct', { durable: true });
  await channel.assertQueue(names.deadLetterQueue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  await channel.bindQueue(names.deadLetterQueue, names.deadLetterExchange, names.routingKey);
  await channel.assertExchange(names.exchange, 'direct', { durable: true });
  await channel.assertQueue(names.queue, { durable: true, arguments: purchaseQueueArguments(names) });
  await channel.bindQueue(names.queue, names.exchange, names.routingKey);
}

/** Removes a test's or lab's queues and exchanges (tests clean up after themselves). */
export async function deleteTopology(channel: Channel, names: BrokerNames): Promise<void> {
  await channel.deleteQueue(names.queue);
  await channel.deleteQueue(names.deadLetterQueue);
  await channel.deleteExchange(names.exchange);
  await channel.deleteExchange(names.deadLetterExchange);
}
