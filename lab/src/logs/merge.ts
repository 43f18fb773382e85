import type { LogEntry } from './log-entry.js';

/**
 * Merges streams that are each in time order into one in time order (a k-way merge:
 * one line per stream is held, the earliest goes next). Ties keep the order of the
 * streams, so a file's own order is never changed. A handful of files, so the earliest
 * head is found by a scan rather than a heap.
 */
export async function* mergeByTime(streams: AsyncIterator<LogEntry>[]): AsyncGenerator<LogEntry> {
  const heads = await Promise.all(streams.map((s) => s.next()));
  for (;;) {
    let best = -1;
    for (let i = 0; i < heads.length; i += 1) {
      const h = heads[i]!;
      if (h.done) continue;
      if (best < 0 || h.value.time < (heads[best]!.value as LogEntry).time) best = i;
    }
    if (best < 0) return;
    yield heads[best]!.value as LogEntry;
    heads[best] = await streams[best]!.next();
  }
}

/** A min-heap of entries by (time, arrival), for reordering one mixed stream. */
class EntryHeap {
  private items: { entry: LogEntry; seq: number }[] = [];
  private seq = 0;

  get size(): number {
    return this.items.length;
  }

  private less(a: number, b: number): boolean {
    const x = this.items[a]!;
    const y = this.items[b]!;
    return x.entry.time < y.entry.time || (x.entry.time === y.entry.time && x.seq < y.seq);
  }

  private swap(a: number, b: number): void {
    [this.items[a], this.items[b]] = [this.items[b]!, this.items[a]!];
  }

  push(entry: LogEntry): void {
    this.items.push({ entry, seq: (this.seq += 1) });
    for (let i = this.items.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  pop(): LogEntry | undefined {
    const top = this.items[0];
    const last = this.items.pop();
    if (!top || !last || this.items.length === 0) return top?.entry;
    this.items[0] = last;
    for (let i = 0; ; ) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < this.items.length && this.less(l, m)) m = l;
      if (r < this.items.length && this.less(r, m)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
    return top.entry;
  }
}

const IDLE = Symbol('idle');

/**
 * Puts one mixed stream (piped `docker compose logs`, where each container's lines come
 * in chunks) into time order as far as a bounded buffer allows: up to `window` lines are
 * held, the earliest is let out when it is full, and everything held is let out when the
 * stream pauses for `idleMs` (a live `logs -f` shows its last lines without waiting for
 * more). Lines further apart than that stay as they came; memory stays bounded.
 */
export async function* reorderByTime(
  entries: AsyncIterable<LogEntry>,
  window = 5_000,
  onAdmit?: (e: LogEntry) => void,
  idleMs = 300,
): AsyncGenerator<LogEntry> {
  const heap = new EntryHeap();
  const source = entries[Symbol.asyncIterator]();
  let pending = source.next();
  for (;;) {
    let timer: NodeJS.Timeout | undefined;
    const idle = new Promise<typeof IDLE>((resolve) => {
      timer = setTimeout(() => resolve(IDLE), idleMs);
    });
    const next = heap.size > 0 ? await Promise.race([pending, idle]) : await pending;
    clearTimeout(timer);
    if (next === IDLE) {
      while (heap.size > 0) yield heap.pop()!;
      continue;
    }
    if (next.done) break;
    pending = source.next();
    onAdmit?.(next.value);
    heap.push(next.value);
    if (heap.size > window) yield heap.pop()!;
  }
  while (heap.size > 0) yield heap.pop()!;
}
