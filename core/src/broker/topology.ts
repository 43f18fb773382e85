import type { Channel } from 'amqplib';
import type { PurchaseMessage } from '../purchases/purchase-message.js';
import { laneOf } from './lanes.js';

/**
 * Names of the exchanges and queues of one lab (or one test), under its AMQP prefix, with
 * `lanes` decision lanes (AMQP_LANES; 0: the shared queue alone).
 */
export function brokerNames(prefix: string, lanes = 0) {
  const laneQueues = Array.from({ length: lanes }, (_, i) => `${prefix}.purchases.lane.${i}`);
  return {
    exchange: `${prefix}.purchases`,
    /** The shared queue: every worker competes for it. Still declared and consumed with lanes, for what waits on it. */
    queue: `${prefix}.purchases`,
    routingKey: 'purchase',
    /** The lane queues, lane i bound with routing key `lane.<i>`. */
    lanes: laneQueues,
    /** Every queue a purchase can wait in: the shared one, then the lanes. */
    queues: [`${prefix}.purchases`, ...laneQueues],
    deadLetterExchange: `${prefix}.purchases.dlx`,
    deadLetterQueue: `${prefix}.purchases.dlq`,
  };
}

export type BrokerNames = ReturnType<typeof brokerNames>;

/** The routing key of lane i. */
export function laneRoutingKey(lane: number): string {
  return `lane.${lane}`;
}

/** Where a purchase is published: its lane when there are lanes, the shared queue otherwise. */
export function purchaseRoutingKey(names: BrokerNames, message: Pick<PurchaseMessage, 'tierId' | 'bucket'>): string {
  if (names.lanes.length === 0) return names.routingKey;
  return laneRoutingKey(laneOf(message.tierId, message.bucket ?? 0, names.lanes.length));
}

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
 * A lane is a purchase queue with a single active consumer: however many workers
 * subscribe, one receives its deliveries, in order, and the broker hands the lane to a
 * waiting one when that consumer goes away.
 */
export function laneQueueArguments(names: BrokerNames): Record<string, unknown> {
  return { ...purchaseQueueArguments(names), 'x-single-active-consumer': true };
}

/**
 * Declares the purchase exchange, the shared queue, the lanes and the dead-letter pair.
 * Idempotent: it is the setup function of every channel, rerun after each reconnect, by
 * API and worker.
 */
export async function assertTopology(channel: Channel, names: BrokerNames): Promise<void> {
  await channel.assertExchange(names.deadLetterExchange, 'direct', { durable: true });
  await channel.assertQueue(names.deadLetterQueue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  await channel.bindQueue(names.deadLetterQueue, names.deadLetterExchange, names.routingKey);
  await channel.assertExchange(names.exchange, 'direct', { durable: true });
  await channel.assertQueue(names.queue, { durable: true, arguments: purchaseQueueArguments(names) });
  await channel.bindQueue(names.queue, names.exchange, names.routingKey);
  for (const [i, lane] of names.lanes.entries()) {
    await channel.assertQueue(lane, { durable: true, arguments: laneQueueArguments(names) });
    await channel.bindQueue(lane, names.exchange, laneRoutingKey(i));
  }
}

/** Removes a test's or lab's queues and exchanges (tests clean up after themselves). */
export async function deleteTopology(channel: Channel, names: BrokerNames): Promise<void> {
  for (const queue of names.queues) await channel.deleteQueue(queue);
  await channel.deleteQueue(names.deadLetterQueue);
  await channel.deleteExchange(names.exchange);
  await channel.deleteExchange(names.deadLetterExchange);
}
