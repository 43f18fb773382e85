import { closeOnce } from '@stampede/core/lifecycle';

interface Pending<T, R> {
  item: T;
  resolve: (result: R) => void;
  reject: (err: unknown) => void;
}

export interface MicroBatcherOptions<T, R> {
  /** A batch is run as soon as it holds this many items... */
  maxSize: number;
  /** ...or this long after its first item arrived, whichever comes first. */
  maxWaitMs: number;
  /** Decides a batch; must return one result per item, in order. */
  run: (items: T[]) => Promise<R[]>;
}

/**
 * Collects items submitted one by one (one per delivery) into batches and runs them one
 * batch at a time: while a batch runs, the next one fills up, and it starts the moment
 * the previous one ends. Each submitter gets its own item's result. One batch at a time
 * on purpose: batches of the same hot tier would only queue on its row lock anyway, and a
 * later batch could take the lock first; parallelism comes from lanes (lane-batchers.ts).
 */
export class MicroBatcher<T, R> {
  private pending: Pending<T, R>[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private exclusive: Promise<unknown> | undefined;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly options: MicroBatcherOptions<T, R>) {}

  /** Queues one item; resolves with its result once its batch has run. */
  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      this.schedule();
    });
  }

  /** Items waiting for a batch. */
  get waiting(): number {
    return this.pending.length;
  }

  /** True when nothing waits and no batch runs. */
  get idle(): boolean {
    return this.pending.length === 0 && !this.running && !this.exclusive;
  }

  /**
   * Resolves when every item submitted so far has been run: shutdown's "finish in
   * flight" (intake has stopped before). A second call gets the same promise.
   */
  readonly close = closeOnce(() => {
    if (this.idle) return;
    return new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  });

  /**
   * Runs `fn` while no batch runs (waiting for the current one to end); batches wait
   * for `fn`. For work that must not interleave with a decision, like reconciliation.
   */
  async runExclusive<X>(fn: () => Promise<X>): Promise<X> {
    while (this.running || this.exclusive) await (this.running ?? this.exclusive);
    const job = fn();
    this.exclusive = job.catch(() => undefined);
    try {
      return await job;
    } finally {
      this.exclusive = undefined;
      this.afterRun();
    }
  }

  private schedule(): void {
    if (this.running || this.exclusive) return; // picked up when the current run ends
    if (this.pending.length >= this.options.maxSize || this.options.maxWaitMs === 0) {
      this.flush();
      return;
    }
    this.timer ??= setTimeout(() => this.flush(), this.options.maxWaitMs);
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.running || this.exclusive || this.pending.length === 0) return;
    const batch = this.pending.splice(0, this.options.maxSize);
    this.running = this.runBatch(batch).finally(() => {
      this.running = undefined;
      this.afterRun();
    });
  }

  private async runBatch(batch: Pending<T, R>[]): Promise<void> {
    try {
      const results = await this.options.run(batch.map((p) => p.item));
      batch.forEach((p, i) => {
        p.resolve(results[i] as R);
      });
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
  }

  private afterRun(): void {
    // Items that arrived during the run have waited at least that long: go at once.
    if (this.pending.length > 0) {
      this.flush();
      return;
    }
    if (this.idle) for (const wake of this.idleWaiters.splice(0)) wake();
  }
}
