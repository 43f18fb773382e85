import type { DecidedPurchase } from './purchases/decide-purchases.js';

/**
 * One purchase's decision as the worker's batch line carries it: a short tuple
 * `[purchaseId, requestId, status, reason, duplicate]`, the trailing ones left out when
 * they say nothing (no reason on a confirmation, `duplicate` only when true). A tuple,
 * not an object per purchase: the batch's line costs a fraction of a line per purchase
 * (docs/observability.md), and JSON keeps ids that hold spaces or quotes intact.
 * `requestId` is null for a message published without one.
 */
export type LoggedDecision =
  | [purchaseId: string, requestId: string | null, status: string]
  | [purchaseId: string, requestId: string | null, status: string, reason: string | null]
  | [purchaseId: string, requestId: string | null, status: string, reason: string | null, duplicate: true];

export function loggedDecision(d: DecidedPurchase): LoggedDecision {
  const requestId = d.message.requestId ?? null;
  if (d.duplicate) return [d.purchaseId, requestId, d.status, d.reason, true];
  return d.reason ? [d.purchaseId, requestId, d.status, d.reason] : [d.purchaseId, requestId, d.status];
}

/** A decision read back from a line (the logs tool, tests). */
export interface ReadDecision {
  purchaseId: string;
  requestId?: string;
  status: string;
  reason?: string;
  duplicate: boolean;
}

/** Reads one entry of a line's `decisions`; undefined for anything that is not such a tuple. */
export function readLoggedDecision(v: unknown): ReadDecision | undefined {
  if (!Array.isArray(v) || typeof v[0] !== 'string' || typeof v[2] !== 'string') return undefined;
  const [purchaseId, requestId, status, reason, duplicate] = v as unknown[];
  return {
    purchaseId: purchaseId as string,
    ...(typeof requestId === 'string' ? { requestId } : {}),
    status: status as string,
    ...(typeof reason === 'string' ? { reason } : {}),
    duplicate: duplicate === true,
  };
}

/** The decisions a parsed line carries (none when it has no `decisions` array). */
export function decisionsOfLine(line: Record<string, unknown> | undefined): ReadDecision[] {
  const list = line?.decisions;
  if (!Array.isArray(list)) return [];
  const out: ReadDecision[] = [];
  for (const v of list) {
    const d = readLoggedDecision(v);
    if (d) out.push(d);
  }
  return out;
}

/**
 * The most decisions one line carries, about 90 KB of JSON: a batch of the default size
 * (500) is one line; a larger WORKER_BATCH_SIZE, or a reconciliation settling thousands
 * of holds, spreads over several lines, each still one grep away from its purchases.
 */
export const DECISIONS_PER_LINE = 1_000;
