/** One `basic.ack` to send: of `tag` alone, or (`multiple`) of every delivery up to it the channel has not settled. */
export interface AckFrame {
  tag: number;
  multiple: boolean;
}

/** Delivered, not settled yet: no multiple-ack may cover it. */
const OUTSTANDING = 0;
/** To be acked: its ack is not sent yet. */
const TO_ACK = 1;
/** Settled by a frame already sent (a nack, or a single ack): a multiple-ack may pass it. */
const DONE = 2;

/**
 * Turns the delivery tags one channel's consumers settle, in any order, into the fewest
 * ack frames that are safe. `ack(multiple)` settles every unacked delivery up to its tag,
 * so it is sent only up to the first delivery still outstanding (deciding, in a retry's
 * backoff, in another lane's batch): the acks behind that one wait (`pending`) until it
 * settles, or until `flush(true)` sends them one frame each. Tags are a channel's own:
 * `open` starts the next channel's generation and forgets the last one's, whose
 * deliveries the broker took back when that channel closed.
 */
export class AckTracker {
  private generation = 0;
  /** Delivered tags of this generation not yet behind an ack frame, in delivery order (a Map keeps insertion order). */
  private readonly states = new Map<number, number>();
  private toAck = 0;

  /** Starts a new channel: every tag of the previous one is forgotten; returns the new generation. */
  open(): number {
    this.generation += 1;
    this.states.clear();
    this.toAck = 0;
    return this.generation;
  }

  /** A delivery arrived on `generation`'s channel (tags rise on a channel); ignored for an older generation. */
  delivered(generation: number, tag: number): void {
    if (generation === this.generation) this.states.set(tag, OUTSTANDING);
  }

  /** The delivery is to be acked (by the next `flush`); ignored for an older generation or a tag not outstanding. */
  ack(generation: number, tag: number): void {
    if (generation !== this.generation || this.states.get(tag) !== OUTSTANDING) return;
    this.states.set(tag, TO_ACK);
    this.toAck += 1;
  }

  /** The delivery was settled by a frame of its own (a nack): it no longer holds a multiple-ack back. */
  settled(generation: number, tag: number): void {
    if (generation === this.generation && this.states.get(tag) === OUTSTANDING) this.states.set(tag, DONE);
  }

  /**
   * The frames that ack every settled delivery up to the first outstanding one: one
   * frame, multiple when it covers more than one ack. With `blocked`, also every ack
   * waiting behind an outstanding delivery, one single frame each.
   */
  flush(blocked = false): AckFrame[] {
    const frames: AckFrame[] = [];
    let last: number | undefined;
    let covered = 0;
    for (const [tag, state] of this.states) {
      if (state === OUTSTANDING) break;
      if (state === TO_ACK) {
        last = tag;
        covered += 1;
      }
      this.states.delete(tag);
    }
    if (last !== undefined) frames.push({ tag: last, multiple: covered > 1 });
    this.toAck -= covered;
    if (blocked && this.toAck > 0) {
      for (const [tag, state] of this.states) {
        if (state !== TO_ACK) continue;
        frames.push({ tag, multiple: false });
        this.states.set(tag, DONE);
      }
      this.toAck = 0;
    }
    return frames;
  }

  /** Acks decided and not sent yet (their deliveries still count as unacked at the broker). */
  get pending(): number {
    return this.toAck;
  }
}
