import { randomUUID } from 'node:crypto';
import { AmqpConnection, Nack } from '@golevelup/nestjs-rabbitmq';
import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { assertTopology, queueArgumentsOf } from '@stampede/core/broker';
import { type Closeable, closeOnce } from '@stampede/core/lifecycle';
import type { Channel, ConsumeMessage } from 'amqplib';
import { backoffMs, sleep } from './backoff.js';
import { deadLetter } from './dead-letter.js';
import {
  type DeadLetterReason,
  deliveryAttempt,
  deliveryTrace,
  PoisonMessageError,
  parseDelivery,
} from './delivery.js';
import { CONSUMER_DEPS, type ConsumerDeps } from './tokens.js';

/**
 * Consumes the purchase queue with manual acknowledgement semantics: each delivery's
 * handler resolves only after its batch committed (then the library acks), returns a
 * Nack to requeue, or dead-letters a copy with its reason before resolving. Prefetch
 * bounds how many deliveries wait in the batcher.
 */
@Injectable()
export class PurchaseConsumer implements OnApplicationBootstrap, Closeable {
  /** Our own tag, stable across reconnects, so shutdown can cancel whichever channel holds it; one per queue, suffixed. */
  readonly consumerTag: string;

  constructor(
    @Inject(AmqpConnection) private readonly amqp: AmqpConnection,
    @Inject(CONSUMER_DEPS) private readonly deps: ConsumerDeps,
  ) {
    this.consumerTag = `${deps.config.INSTANCE_NAME}.${process.pid}.${randomUUID().slice(0, 8)}`;
  }

  /** The consumer tag of each purchase queue: the shared queue, then the lanes. */
  get consumerTags(): string[] {
    return this.deps.names.queues.map((_, i) => (i === 0 ? this.consumerTag : `${this.consumerTag}.lane.${i - 1}`));
  }

  /**
   * Declares the topology as a setup of the consuming channel (rerun after every
   * reconnect), then subscribes to the shared queue and to every lane (a lane delivers to
   * one of its subscribers at a time). Not awaited: with the broker away the worker still
   * boots, and consumption starts when the connection does.
   */
  onApplicationBootstrap(): void {
    const { names, log } = this.deps;
    void this.amqp.managedChannel.addSetup((channel: Channel) => assertTopology(channel, names));
    const tags = this.consumerTags;
    names.queues.forEach((queue, i) => {
      void this.amqp
        .createSubscriber(
          (_body, raw) => this.handle(raw!, queue),
          {
            queue,
            // Same arguments as assertTopology, so whichever setup declares the queue first declares it right.
            queueOptions: {
              durable: true,
              arguments: queueArgumentsOf(names, queue),
              consumerOptions: { consumerTag: tags[i], noAck: false },
            },
            deserializer: (content: Buffer) => content,
            errorHandler: (channel, msg, err) => this.onHandlerError(channel, msg, err),
          },
          'purchases',
        )
        .then(() =>
          log.info({ event: 'consumer.started', queue, consumerTag: tags[i] }, `consuming purchases from ${queue}`),
        );
    });
  }

  /** Stops intake: the broker sends no more deliveries; those already here are still decided. */
  readonly close = closeOnce(async () => {
    for (const tag of this.consumerTags) await this.amqp.cancelConsumer(tag);
  });

  /** Deliveries received and not yet acked, nacked or dead-lettered. */
  get inFlight(): number {
    return this.handling;
  }

  private handling = 0;

  private async handle(raw: ConsumeMessage, queue: string): Promise<Nack | undefined> {
    this.handling += 1;
    try {
      return await this.decide(raw, queue);
    } finally {
      this.handling -= 1;
    }
  }

  private async decide(raw: ConsumeMessage, queue: string): Promise<Nack | undefined> {
    let message: ReturnType<typeof parseDelivery>;
    try {
      message = parseDelivery(raw.content);
    } catch (err) {
      if (!(err instanceof PoisonMessageError)) throw err;
      return this.deadLetter(raw, queue, err.reason, err.detail);
    }
    const outcome = await this.deps.batcher.submit(message);
    switch (outcome.kind) {
      case 'ack':
        await outcome.settled;
        return undefined;
      case 'dead-letter':
        return this.deadLetter(raw, queue, outcome.reason, outcome.detail);
      case 'release':
        return new Nack(true);
      case 'failed':
        return this.retryOrDeadLetter(raw, queue, outcome.error);
    }
  }

  /** An unexpected failure: requeued after a backoff, until WORKER_MAX_ATTEMPTS deliveries are spent. */
  private async retryOrDeadLetter(raw: ConsumeMessage, queue: string, error: unknown): Promise<Nack | undefined> {
    const { config, log, stopping } = this.deps;
    const attempt = deliveryAttempt(raw);
    const detail = error instanceof Error ? error.message : String(error);
    if (attempt >= config.WORKER_MAX_ATTEMPTS)
      return this.deadLetter(raw, queue, 'processing_failed', `after ${attempt} attempts: ${detail}`);
    const delayMs = backoffMs(attempt - 1, config.WORKER_RETRY_BASE_MS, config.WORKER_RETRY_MAX_MS);
    log.warn(
      { event: 'purchase.retry', ...deliveryTrace(raw), maxAttempts: config.WORKER_MAX_ATTEMPTS, delayMs, err: detail },
      'purchase failed, requeued',
    );
    await sleep(delayMs, stopping);
    return new Nack(true);
  }

  private async deadLetter(
    raw: ConsumeMessage,
    queue: string,
    reason: DeadLetterReason,
    detail: string,
  ): Promise<undefined> {
    await deadLetter(
      this.amqp,
      this.deps.names,
      this.deps.log,
      raw,
      { queue, reason, detail },
      this.deps.config.INSTANCE_NAME,
    );
    this.deps.metrics?.deadLettered.inc({ reason });
    this.deps.metrics?.processed.inc({ outcome: 'dead_lettered', reason });
    return undefined;
  }

  /**
   * The handler threw (e.g. the dead-letter copy was not confirmed) or the ack failed:
   * requeue. Must never throw itself — the channel may already be gone, and then the
   * broker gives the delivery back on its own.
   */
  private onHandlerError(channel: Channel, msg: ConsumeMessage, err: unknown): void {
    this.deps.log.warn(
      { event: 'purchase.requeued', ...deliveryTrace(msg), err: err instanceof Error ? err.message : String(err) },
      'delivery requeued after an error',
    );
    try {
      channel.nack(msg, false, true);
    } catch {
      // channel closed: the broker requeues unacked deliveries by itself
    }
  }
}
