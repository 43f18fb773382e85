import type { PurchaseStatus, RejectionReason } from '@stampede/core/purchases';

/**
 * What a purchase request came to, in the domain's words (the route maps it to HTTP):
 * `queued`, accepted now and queued for the worker; `replayed`, a retry of a known
 * Idempotency-Key, answered with the purchase as it stands (still queued or decided);
 * `decided`, decided inside the request (PURCHASE_MODE=sync).
 */
export interface PurchaseOutcome {
  kind: 'queued' | 'replayed' | 'decided';
  purchaseId: string;
  status: PurchaseStatus;
  reason?: RejectionReason;
}
