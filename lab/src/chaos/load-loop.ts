import { randomUUID } from 'node:crypto';

/** Where the load goes: the lab's front door and the scenario's own event. */
export interface LoadTarget {
  base: string;
  eventId: string;
  /** Purchases go to these tiers in turn. */
  tierIds: string[];
  /** Reads go to these events in turn (default: the event). */
  readEventIds?: string[];
}

export interface LoadRates {
  purchasesPerSecond: number;
  readsPerSecond: number;
  /** Requests in flight at most; a request due beyond it is dropped and counted (as k6 does). */
  maxInFlight?: number;
  timeoutMs?: number;
}

/** What clients saw in one phase. Outcomes are labels: `202`, `409 sold_out`, `503 broker_unavailable`, `200 hit`, `network`, … */
export interface PhaseStats {
  purchases: Record<string, number>;
  reads: Record<string, number>;
  /** Reads answered per replica (X-Served-By). */
  servedBy: Record<string, number>;
  readLatenciesMs: number[];
  /** The longest a purchase waited for its answer, whatever the answer (a fault may hold purchases rather than refuse them). */
  slowestPurchaseMs: number;
  /** 503 answers to purchases that carried no Retry-After. */
  unavailableWithoutRetryAfter: number;
}

/** A request that did not get an expected answer, for the verdict and the logs. */
export interface ClientFailure {
  atMs: number;
  phase: string;
  kind: 'purchase' | 'read';
  label: string;
}

/** Failures kept one by one (the counts per label are complete whatever the number). */
const FAILURE_SAMPLE = 5_000;

/** Answers a buyer expects: a queued purchase, a replay, or sold out. Everything else is an error the client saw. */
export function purchaseOk(label: string): boolean {
  return label === '202' || label === '200' || label === '409 sold_out';
}

export function readOk(label: string): boolean {
  return label.startsWith('200');
}

/**
 * The load of a chaos scenario: purchases (each with its own Idempotency-Key and buyer)
 * and availability reads through nginx, at fixed rates (an open model: a slow answer
 * does not slow the arrivals), until stopped. Every outcome is counted under the phase
 * current when the answer came (it tells the state of the system then), and every 202's
 * purchase id is kept for the reconciliation.
 */
export class LoadLoop {
  phase = 'warmup';
  readonly acceptedIds: string[] = [];
  /** The Idempotency-Keys of the requests that got an error: a purchase row with one was queued after all. */
  readonly failedKeys: string[] = [];
  readonly failures: ClientFailure[] = [];
  readonly phases = new Map<string, PhaseStats>();
  sent = { purchases: 0, reads: 0 };
  dropped = 0;
  /** When the last 202 came (ms since the start, as failures' atMs); -1 before the first. */
  lastAcceptedAtMs = -1;
  /** Answers that were not what a client expects (every one, unlike `failures`). */
  errors = 0;
  inFlight = { purchases: 0, reads: 0 };
  private timer: NodeJS.Timeout | undefined;
  private readonly pending = new Set<Promise<void>>();
  private readonly started = Date.now();

  constructor(
    private readonly target: LoadTarget,
    private readonly rates: LoadRates,
  ) {}

  get elapsedMs(): number {
    return Date.now() - this.started;
  }

  /** Starts sending; a tick every 20 ms sends what is due since the start. */
  start(): void {
    const t0 = Date.now();
    const due = { purchases: 0, reads: 0 };
    this.timer = setInterval(() => {
      const seconds = (Date.now() - t0) / 1000;
      while (due.purchases < Math.floor(seconds * this.rates.purchasesPerSecond)) {
        due.purchases += 1;
        this.send('purchase');
      }
      while (due.reads < Math.floor(seconds * this.rates.readsPerSecond)) {
        due.reads += 1;
        this.send('read');
      }
    }, 20);
  }

  /** Stops sending and waits for the answers still in flight. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all(this.pending);
  }

  stats(phase: string): PhaseStats {
    let s = this.phases.get(phase);
    if (!s)
      this.phases.set(
        phase,
        (s = {
          purchases: {},
          reads: {},
          servedBy: {},
          readLatenciesMs: [],
          slowestPurchaseMs: 0,
          unavailableWithoutRetryAfter: 0,
        }),
      );
    return s;
  }

  private send(kind: 'purchase' | 'read'): void {
    if (this.inFlight.purchases + this.inFlight.reads >= (this.rates.maxInFlight ?? 500)) {
      this.dropped += 1;
      return;
    }
    const work = kind === 'purchase' ? this.purchase() : this.read();
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work));
  }

  private async purchase(): Promise<void> {
    const n = this.sent.purchases++;
    this.inFlight.purchases += 1;
    const tierId = this.target.tierIds[n % this.target.tierIds.length]!;
    const key = `chaos-${randomUUID()}`;
    const started = performance.now();
    let label: string;
    let retryAfter = true;
    try {
      const res = await fetch(`${this.target.base}/events/${this.target.eventId}/purchases`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': key },
        body: JSON.stringify({ tierId, quantity: 1, buyerId: `chaos-${randomUUID().slice(0, 13)}` }),
        signal: AbortSignal.timeout(this.rates.timeoutMs ?? 10_000),
      });
      const body = (await res.json().catch(() => ({}))) as { purchaseId?: string; code?: string };
      label = res.status < 300 ? String(res.status) : `${res.status}${body.code ? ` ${body.code}` : ''}`;
      this.servedBy(res);
      if (res.status === 202 && body.purchaseId) {
        this.acceptedIds.push(body.purchaseId);
        this.lastAcceptedAtMs = this.elapsedMs;
      }
      retryAfter = res.status !== 503 || Boolean(res.headers.get('retry-after'));
    } catch (err) {
      label = errorLabel(err);
    } finally {
      this.inFlight.purchases -= 1;
    }
    const s = this.stats(this.phase);
    s.slowestPurchaseMs = Math.max(s.slowestPurchaseMs, Math.round(performance.now() - started));
    if (!retryAfter) s.unavailableWithoutRetryAfter += 1;
    // A failed answer does not prove nothing was queued (a confirm lost with the connection): keep its key to look for later.
    if (!purchaseOk(label)) this.failedKeys.push(key);
    this.count(this.phase, 'purchase', label);
  }

  /** Counts which replica answered, reads and purchases alike: nginx may send each kind to different replicas. */
  private servedBy(res: Response): void {
    const by = res.headers.get('x-served-by');
    if (!by) return;
    const s = this.stats(this.phase);
    s.servedBy[by] = (s.servedBy[by] ?? 0) + 1;
  }

  private async read(): Promise<void> {
    const events = this.target.readEventIds ?? [this.target.eventId];
    const eventId = events[this.sent.reads % events.length]!;
    this.sent.reads += 1;
    this.inFlight.reads += 1;
    const started = performance.now();
    let label: string;
    try {
      const res = await fetch(`${this.target.base}/events/${eventId}/availability`, {
        signal: AbortSignal.timeout(this.rates.timeoutMs ?? 10_000),
      });
      const body = (await res.json().catch(() => ({}))) as { code?: string };
      label =
        res.status === 200
          ? `200 ${res.headers.get('x-cache') ?? '?'}`
          : `${res.status}${body.code ? ` ${body.code}` : ''}`;
      this.servedBy(res);
      if (res.status === 200) this.stats(this.phase).readLatenciesMs.push(performance.now() - started);
    } catch (err) {
      label = errorLabel(err);
    } finally {
      this.inFlight.reads -= 1;
    }
    this.count(this.phase, 'read', label);
  }

  private count(phase: string, kind: 'purchase' | 'read', label: string): void {
    const s = this.stats(phase);
    const table = kind === 'purchase' ? s.purchases : s.reads;
    table[label] = (table[label] ?? 0) + 1;
    const ok = kind === 'purchase' ? purchaseOk(label) : readOk(label);
    if (!ok) this.errors += 1;
    if (!ok && this.failures.length < FAILURE_SAMPLE) this.failures.push({ atMs: this.elapsedMs, phase, kind, label });
  }
}

function errorLabel(err: unknown): string {
  const name = (err as { name?: string }).name;
  return name === 'TimeoutError' || name === 'AbortError' ? 'timeout' : 'network';
}
