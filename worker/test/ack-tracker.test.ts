import { describe, expect, it } from 'vitest';
import { AckTracker } from '../src/ack-tracker.js';

/** A tracker with deliveries 1..n on its first channel. */
function delivered(n: number): { acks: AckTracker; gen: number } {
  const acks = new AckTracker();
  const gen = acks.open();
  for (let tag = 1; tag <= n; tag += 1) acks.delivered(gen, tag);
  return { acks, gen };
}

describe('the ack tracker', () => {
  it('when a whole batch is acked, then one multiple-ack up to its last tag covers it', () => {
    const { acks, gen } = delivered(500);
    for (let tag = 1; tag <= 500; tag += 1) acks.ack(gen, tag);
    expect(acks.pending).toBe(500);
    expect(acks.flush()).toEqual([{ tag: 500, multiple: true }]);
    expect(acks.pending).toBe(0);
    expect(acks.flush(true)).toEqual([]);
  });

  it('when acks arrive out of order, then nothing is sent past the first delivery still outstanding, and the rest goes once it is acked', () => {
    const { acks, gen } = delivered(5);
    acks.ack(gen, 3);
    acks.ack(gen, 5);
    acks.ack(gen, 2);
    expect(acks.flush()).toEqual([]); // 1 outstanding holds everything
    expect(acks.pending).toBe(3);
    acks.ack(gen, 1);
    expect(acks.flush()).toEqual([{ tag: 3, multiple: true }]); // 4 outstanding: 5 waits
    expect(acks.pending).toBe(1);
    acks.ack(gen, 4);
    expect(acks.flush()).toEqual([{ tag: 5, multiple: true }]);
    expect(acks.pending).toBe(0);
  });

  it('when a delivery in the middle is being retried, then no multiple-ack passes it, and the acks behind it go singly only when asked', () => {
    const { acks, gen } = delivered(6);
    for (const tag of [1, 2, 4, 5, 6]) acks.ack(gen, tag); // 3 sleeps in its backoff
    expect(acks.flush()).toEqual([{ tag: 2, multiple: true }]);
    expect(acks.pending).toBe(3);
    expect(acks.flush(true)).toEqual([
      { tag: 4, multiple: false },
      { tag: 5, multiple: false },
      { tag: 6, multiple: false },
    ]);
    expect(acks.pending).toBe(0);
    // 3 is nacked (requeued) by a frame of its own: later acks pass it again, and nothing covers 3.
    acks.settled(gen, 3);
    acks.delivered(gen, 7);
    acks.delivered(gen, 8);
    acks.ack(gen, 7);
    acks.ack(gen, 8);
    expect(acks.flush()).toEqual([{ tag: 8, multiple: true }]);
  });

  it('when the delivery holding acks back is nacked, then the acks behind it leave in one multiple-ack', () => {
    const { acks, gen } = delivered(4);
    for (const tag of [2, 3, 4]) acks.ack(gen, tag);
    expect(acks.flush()).toEqual([]);
    acks.settled(gen, 1);
    expect(acks.flush()).toEqual([{ tag: 4, multiple: true }]);
  });

  it('when a single delivery is acked, then its frame is a single ack', () => {
    const { acks, gen } = delivered(2);
    acks.settled(gen, 1);
    acks.ack(gen, 2);
    expect(acks.flush()).toEqual([{ tag: 2, multiple: false }]);
  });

  it('when a new channel generation opens, then tags of the old one are ignored and never acked on the new one', () => {
    const { acks, gen: old } = delivered(3);
    acks.ack(old, 1);
    const gen = acks.open();
    expect(acks.pending).toBe(0); // the old channel's ack died with it
    acks.delivered(gen, 1);
    acks.ack(old, 1); // a handler of the old channel finishing late: tag 1 there is not tag 1 here
    acks.ack(old, 2);
    acks.delivered(old, 9);
    acks.ack(old, 9);
    expect(acks.flush(true)).toEqual([]);
    acks.ack(gen, 1);
    expect(acks.flush()).toEqual([{ tag: 1, multiple: false }]);
  });

  it('when a tag is acked twice or was never delivered, then it is sent at most once', () => {
    const { acks, gen } = delivered(2);
    acks.ack(gen, 1);
    acks.ack(gen, 1);
    acks.ack(gen, 7);
    expect(acks.pending).toBe(1);
    expect(acks.flush(true)).toEqual([{ tag: 1, multiple: false }]);
    acks.ack(gen, 1);
    expect(acks.flush(true)).toEqual([]);
  });
});
