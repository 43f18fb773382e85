import { closeOnce } from '@stampede/core/lifecycle';
import { MicroBatcher, type MicroBatcherOptions } from './micro-batcher.js';

/**
 * One MicroBatcher per decision lane, run side by side: an item goes to the batcher of
 * its lane (the publisher's lane function), so items of one lane are batched and decided
 * in arrival order while other lanes decide in parallel. With one lane it is a
 * MicroBatcher.
 */
export class LaneBatchers<T, R> {
  private readonly lanes: MicroBatcher<T, R>[];

  constructor(
    count: number,
    /** The lane of an item, in [0, count). */
    private readonly laneOf: (item: T) => number,
    options: MicroBatcherOptions<T, R>,
  ) {
    this.lanes = Array.from({ length: Math.max(1, count) }, () => new MicroBatcher(options));
  }

  /** Queues one item in its lane; resolves with its result once its batch has run. */
  submit(item: T): Promise<R> {
    return this.lanes[this.laneOf(item) % this.lanes.length]!.submit(item);
  }

  /** Items waiting for a batch, in every lane. */
  get waiting(): number {
    return this.lanes.reduce((n, b) => n + b.waiting, 0);
  }

  /** True when no lane has an item waiting or a batch running. */
  get idle(): boolean {
    return this.lanes.every((b) => b.idle);
  }

  /** Resolves when every lane has run every item submitted so far. */
  readonly close = closeOnce(async () => {
    await Promise.all(this.lanes.map((b) => b.close()));
  });

  /** Runs `fn` while no lane runs a batch: each lane's exclusive section taken in lane order. */
  runExclusive<X>(fn: () => Promise<X>): Promise<X> {
    return this.lanes.reduceRight<() => Promise<X>>((inner, lane) => () => lane.runExclusive(inner), fn)();
  }
}
