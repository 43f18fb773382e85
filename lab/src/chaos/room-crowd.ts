/** One buyer of the crowd, as the buyer saw the room. */
export interface CrowdBuyer {
  /** The queue token's id in the room and its signed place (read from the token's payload). */
  jti: string;
  place: number;
  joinedAtMs: number;
  /** Release times (ms, the server's) of every pass this buyer was given: one, or none yet. */
  releasedAtMs: number[];
  /** 410's problem type (skipped, or released and expired) when the room sent the buyer away. */
  left?: string;
  /** Polls answered with something else than 200/202 (503 while Redis is away, network). */
  pollErrors: number;
}

export interface RoomCrowdOptions {
  base: string;
  eventId: string;
  arrivalsPerSecond: number;
  pollMs: number;
  /** The room's pass life: a pass expires this long after its release, which dates the release. */
  passTtlMs: number;
  timeoutMs?: number;
}

/** The signed claims a client may read (a JWS payload is base64url JSON, readable by anyone). */
function claimsOf(token: string): { jti: string; pos: string } {
  const payload = token.split('.')[1] ?? '';
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { jti: string; pos: string };
}

/**
 * A crowd in an event's waiting room, through nginx: buyers arrive at a fixed rate, each
 * polls every `pollMs` until released (a pass) or sent away (410), then stops, as a buyer
 * who goes to buy does. Every answer is kept per buyer, so a run can tell afterwards who
 * was released, when (the pass's expiry less its life), how often, and in what order.
 */
export class RoomCrowd {
  readonly buyers: CrowdBuyer[] = [];
  /** Joins refused or failed, by label (`503`, `network`, …). */
  readonly joinErrors: Record<string, number> = {};
  private arrivals: NodeJS.Timeout | undefined;
  private readonly polls = new Set<NodeJS.Timeout>();
  private readonly inFlight = new Set<Promise<void>>();
  private stopped = false;

  constructor(private readonly o: RoomCrowdOptions) {}

  start(): void {
    const every = 1_000 / this.o.arrivalsPerSecond;
    const started = Date.now();
    let due = 0;
    this.arrivals = setInterval(
      () => {
        // Catch up on the arrivals due by now: a timer late under load does not lower the rate.
        const target = Math.floor((Date.now() - started) / every);
        for (; due < target; due++) this.track(this.arrive());
      },
      Math.max(5, Math.min(50, every)),
    );
  }

  /** Releases (by the server's time) at or after `ms` that buyers have claimed so far. */
  releasedSince(ms: number): number {
    return this.buyers.filter((b) => b.releasedAtMs.some((x) => x >= ms)).length;
  }

  /** Stops arrivals and polls, and waits for the answers in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.arrivals);
    for (const t of this.polls) clearTimeout(t);
    this.polls.clear();
    await Promise.all([...this.inFlight]);
  }

  private track(p: Promise<void>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  private async arrive(): Promise<void> {
    const joinedAtMs = Date.now();
    let token: string;
    try {
      const res = await fetch(`${this.o.base}/events/${this.o.eventId}/waiting-room`, {
        method: 'POST',
        signal: AbortSignal.timeout(this.o.timeoutMs ?? 5_000),
      });
      if (res.status !== 201) {
        await res.body?.cancel();
        this.joinErrors[String(res.status)] = (this.joinErrors[String(res.status)] ?? 0) + 1;
        return;
      }
      token = ((await res.json()) as { token: string }).token;
    } catch {
      this.joinErrors.network = (this.joinErrors.network ?? 0) + 1;
      return;
    }
    const claims = claimsOf(token);
    const buyer: CrowdBuyer = {
      jti: claims.jti,
      place: Number(claims.pos),
      joinedAtMs,
      releasedAtMs: [],
      pollErrors: 0,
    };
    this.buyers.push(buyer);
    await this.poll(buyer, token);
  }

  private async poll(buyer: CrowdBuyer, token: string): Promise<void> {
    if (this.stopped) return;
    let again = true;
    try {
      const res = await fetch(`${this.o.base}/events/${this.o.eventId}/waiting-room?token=${token}`, {
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(this.o.timeoutMs ?? 5_000),
      });
      const body = (await res.json().catch(() => ({}))) as { status?: string; expiresAt?: string; type?: string };
      if (res.status === 200 && body.status === 'admitted' && body.expiresAt) {
        buyer.releasedAtMs.push(Date.parse(body.expiresAt) - this.o.passTtlMs);
        again = false;
      } else if (res.status === 410) {
        buyer.left = body.type ?? '410';
        again = false;
      } else if (res.status !== 202) {
        buyer.pollErrors++;
      }
    } catch {
      buyer.pollErrors++;
    }
    if (!again || this.stopped) return;
    const t = setTimeout(() => {
      this.polls.delete(t);
      this.track(this.poll(buyer, token));
    }, this.o.pollMs);
    this.polls.add(t);
  }
}
