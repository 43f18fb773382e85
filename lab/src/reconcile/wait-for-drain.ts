import type { Sql } from '@stampede/core/db';
import type { BrokerProbe, QueueDepths } from './broker-facts.js';
import { decidedIds } from './purchase-facts.js';

/** One look at the backlog while waiting, for progress output. */
export interface DrainProgress {
  waitedMs: number;
  /** Ready messages in the purchase queue; null when the broker cannot be read. */
  queued: number | null;
  /** Accepted ids without a decision yet; null when no ids were given. */
  notFinal: number | null;
}

export interface DrainResult {
  depths: QueueDepths | null;
  brokerError?: string;
  /** Accepted ids still without a row when the wait ended. */
  notFinal: string[];
  waitedMs: number;
}

/**
 * Waits until the purchase queue has no ready message and every accepted id has a row in
 * Postgres, or until `waitForDrainMs` has passed. Waiting on the ids as well as the queue
 * covers messages a worker holds unacked, which the broker does not count as ready. Each
 * round asks Postgres only about the ids still undecided.
 */
export async function waitForDrain(
  sql: Sql,
  probe: BrokerProbe | undefined,
  acceptedIds: string[] | undefined,
  options: { waitForDrainMs?: number; pollIntervalMs?: number; onProgress?: (p: DrainProgress) => void },
): Promise<DrainResult> {
  const waitMs = options.waitForDrainMs ?? 0;
  const interval = options.pollIntervalMs ?? 500;
  const started = Date.now();
  let pending = acceptedIds ?? [];
  for (;;) {
    let depths: QueueDepths | null = null;
    let brokerError: string | undefined;
    if (probe) {
      try {
        depths = await probe.depths();
      } catch (err) {
        brokerError = err instanceof Error ? err.message : String(err);
      }
    }
    if (pending.length > 0) {
      const found = await decidedIds(sql, pending);
      pending = pending.filter((id) => !found.has(id));
    }
    const waitedMs = Date.now() - started;
    const queueEmpty = depths ? depths.queued === 0 : true;
    if ((queueEmpty && pending.length === 0) || waitedMs >= waitMs) {
      return { depths, ...(brokerError ? { brokerError } : {}), notFinal: pending, waitedMs };
    }
    options.onProgress?.({ waitedMs, queued: depths?.queued ?? null, notFinal: acceptedIds ? pending.length : null });
    await new Promise((r) => setTimeout(r, Math.min(interval, waitMs - waitedMs)));
  }
}
