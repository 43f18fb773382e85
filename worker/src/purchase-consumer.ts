import { randomUUID } from 'node:crypto';
import { AmqpConnection } from '@golevelup/nestjs-rabbitmq';
import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { assertTopology } from '@stampede/core/broker';
import { type Closeable, closeOnce } from '@stampede/core/lifecycle';
import type { Channel, ConsumeMessage, Message } from 'amqplib';
import { AckTracker } from './ack-tracker.js';
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

/** What becomes of a delivery once its handler is done: acked (batched), or given back to the queue. */
type Verdict = 'ack' | 'requeue';

/**
 * How long acks may wait behind a delivery still outstanding (another lane's batch
 * deciding, a retry's backoff) with no multiple-ack sent, before they go one frame each:
 * about a few batches' time, so the broker's prefetch credit is not held much longer.
 */
const BLOCKED_ACK_HOLD_MS = 500;

/**
 * Consumes the purchase queues on the RabbitMQ module's managed channel, as one of its
 * setups (rerun on each new channel after a reconnect), with manual acknowledgement: a
 * delivery is acked only after its batch committed and settled, or after its dead-letter
 * copy was confirmed; it is requeued (nack) to be retried or when shutdown releases it.
 * Acks are sent through an AckTracker (ack-tracker.ts): one multiple-ack for every settled
 * delivery up to the first one still outstanding, so a committed batch costs the channel
 * one frame, not one per purchase. Prefetch bounds how many deliveries wait in the batcher.
 */
@Injectable()
export class PurchaseConsumer implements OnApplicationBootstrap, Closeable {
  /** Our own tag, stable across reconnects, so shutdown can cancel whichever channel holds it; one per queue, suffixed. */
  readonly consumerTag: string;
  private readonly acks = new AckTracker();
  /** The channel consuming now and its generation in `acks`; a delivery of an older one is never acked on it. */
  private current: { channel: Channel; generation: number } | undefined;
  private stopped = false;
  private flushQueued = false;
  private holdTimer: NodeJS.Timeout | undefined;
  private handling = 0;
  private idleWaiters: (() => void)[] = [];

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
   * Declares the topology and subscribes to the shared queue and to every lane (a lane
   * delivers to one of its subscribers at a time), as a setup of the consuming channel.
   * Not awaited: with the broker away the worker still boots, and consumption starts when
   * the connection does.
   */
  onApplicationBootstrap(): void {
    void this.amqp.managedChannel.addSetup((channel: Channel) => this.consume(channel));
  }

  private async consume(channel: Channel): Promise<void> {
    const { names, config } = this.deps;
    const generation = this.acks.open();
    this.current = { channel, generation };
    await assertTopology(channel, names);
    await channel.prefetch(config.WORKER_PREFETCH);
    const share = config.WORKER_LANE_SHARE;
    // Index 0 is the shared queue; lane j is index j + 1.
    const own = (i: number) => i === 0 || !share || (i - 1) % share.of === share.index;
    const indexes = names.queues.map((_, i) => i);
    for (const i of indexes.filter(own)) await this.subscribe(channel, generation, i, 'active');
    const standby = indexes.filter((i) => !own(i));
    if (standby.length === 0) return;
    // Later, and not awaited: the channel's setup (which publishing waits for) ends now.
    setTimeout(async () => {
      for (const i of standby) {
        if (this.current?.channel !== channel) return; // a reconnect's setup subscribes again
        await this.subscribe(channel, generation, i, 'standby').catch(() => undefined);
      }
    }, config.WORKER_STANDBY_DELAY_MS).unref();
  }

  /** Subscribes to one purchase queue, unless shutdown began (it cancels what was consumed before). */
  private async subscribe(channel: Channel, generation: number, i: number, role: 'active' | 'standby') {
    if (this.stopped) return;
    const queue = this.deps.names.queues[i]!;
    const consumerTag = this.consumerTags[i]!;
    await channel.consume(queue, (msg) => this.receive(channel, generation, queue, msg), { consumerTag, noAck: false });
    this.deps.log.info(
      { event: 'consumer.started', queue, consumerTag, ...(role === 'standby' ? { standby: true } : {}) },
      `consuming purchases from ${queue}${role === 'standby' ? " (standby: another worker's share)" : ''}`,
    );
  }

  /** Stops intake: the broker sends no more deliveries; those already here are still decided. */
  readonly close = closeOnce(async () => {
    this.stopped = true;
    const channel = this.current?.channel;
    if (!channel) return;
    for (const tag of this.consumerTags) await channel.cancel(tag).catch(() => undefined);
  });

  /**
   * Resolves once every delivery received has been handled and its ack sent (those held
   * behind an outstanding delivery one frame each): shutdown's step before the broker
   * connection closes.
   */
  readonly drain = closeOnce(async () => {
    if (this.handling > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    this.flush(true);
  });

  /** Deliveries received and not yet acked, nacked or dead-lettered. */
  get inFlight(): number {
    return this.handling + this.acks.pending;
  }

  private receive(channel: Channel, generation: number, queue: string, msg: ConsumeMessage | null): void {
    if (!msg) {
      // The broker cancelled the consumer (its queue was deleted): nothing to settle.
      this.deps.log.warn({ event: 'consumer.cancelled', queue }, 'the broker cancelled the purchase consumer');
      return;
    }
    this.acks.delivered(generation, msg.fields.deliveryTag);
    this.handling += 1;
    void this.decide(msg, queue)
      .catch((err: unknown) => this.requeueAfterError(msg, err))
      .then((verdict) => this.settle(channel, generation, msg, verdict))
      .finally(() => {
        this.handling -= 1;
        if (this.handling === 0) for (const wake of this.idleWaiters.splice(0)) wake();
      });
  }

  private async decide(raw: ConsumeMessage, queue: string): Promise<Verdict> {
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
        return 'ack';
      case 'dead-letter':
        return this.deadLetter(raw, queue, outcome.reason, outcome.detail);
      case 'release':
        return 'requeue';
      case 'failed':
        return this.retryOrDeadLetter(raw, queue, outcome.error);
    }
  }

  /**
   * An ack goes to the tracker and leaves with the next flush (after this turn of the
   * event loop, so a batch's deliveries share one frame); a requeue is its own nack at
   * once, on the channel it came from (a closed one has given it back already).
   */
  private settle(channel: Channel, generation: number, msg: ConsumeMessage, verdict: Verdict): void {
    if (verdict === 'ack') {
      this.acks.ack(generation, msg.fields.deliveryTag);
    } else {
      try {
        channel.nack(msg, false, true);
      } catch {
        // channel closed: the broker requeues unacked deliveries by itself
      }
      this.acks.settled(generation, msg.fields.deliveryTag);
    }
    if (this.flushQueued) return;
    this.flushQueued = true;
    setImmediate(() => {
      this.flushQueued = false;
      this.flush(false);
    });
  }

  /**
   * Sends the tracker's frames on the current channel. Acks left behind an outstanding
   * delivery go singly once no multiple-ack has gone for the hold (the blocker is stuck).
   */
  private flush(blocked: boolean): void {
    const frames = this.acks.flush(blocked);
    const channel = this.current?.channel;
    if (channel) {
      for (const { tag, multiple } of frames) {
        try {
          channel.ack({ fields: { deliveryTag: tag } } as Message, multiple);
        } catch {
          // channel closed: the broker requeues unacked deliveries by itself, and `open` forgets them
        }
      }
    }
    if (frames.length > 0 || this.acks.pending === 0) {
      clearTimeout(this.holdTimer);
      this.holdTimer = undefined;
    }
    this.holdTimer ??=
      this.acks.pending > 0
        ? setTimeout(() => {
            this.holdTimer = undefined;
            this.flush(true);
          }, BLOCKED_ACK_HOLD_MS)
        : undefined;
  }

  /** An unexpected failure: requeued after a backoff, until WORKER_MAX_ATTEMPTS deliveries are spent. */
  private async retryOrDeadLetter(raw: ConsumeMessage, queue: string, error: unknown): Promise<Verdict> {
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
    return 'requeue';
  }

  private async deadLetter(
    raw: ConsumeMessage,
    queue: string,
    reason: DeadLetterReason,
    detail: string,
  ): Promise<Verdict> {
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
    return 'ack';
  }

  /** The handler threw (e.g. the dead-letter copy was not confirmed): requeued. */
  private requeueAfterError(msg: ConsumeMessage, err: unknown): Verdict {
    this.deps.log.warn(
      { event: 'purchase.requeued', ...deliveryTrace(msg), err: err instanceof Error ? err.message : String(err) },
      'delivery requeued after an error',
    );
    return 'requeue';
  }
}
