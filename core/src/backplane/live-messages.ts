import { z } from 'zod';
import { PURCHASE_STATUSES, REJECTION_REASONS } from '../purchases/purchase-vocabulary.js';

/**
 * The backplane kinds of what is pushed live to browsers: purchase decisions (to the
 * purchase status streams) and the figures of the sale dashboard. Without their envelope,
 * which backplane-messages.ts adds when it lists them.
 */

/** The worker committed a batch: the final state of each purchase decided in it. */
export const purchasesDecidedFields = z.object({
  kind: z.literal('purchases_decided'),
  purchases: z
    .array(
      z.object({
        purchaseId: z.uuid(),
        status: z.enum(PURCHASE_STATUSES).exclude(['queued']),
        reason: z.enum(REJECTION_REASONS).nullable(),
        decidedAt: z.iso.datetime(),
      }),
    )
    .min(1)
    .max(1_000),
});

/** A count per label, as a counter of ours holds it (cumulative since the process started). */
const counts = z.record(z.string().max(64), z.number().nonnegative()).refine((r) => Object.keys(r).length <= 64);
/** Cumulative histogram bucket counts, one per upper bound of LATENCY_BUCKETS, then +Inf. */
const buckets = z.array(z.number().nonnegative()).max(32);

/**
 * A replica's own figures, cumulative since it started (a receiver takes differences, so a
 * lost message costs resolution, not accuracy). Sent each second by a replica that has
 * dashboard viewers (`watching`), and in answer to one by every other replica.
 */
export const replicaSampleFields = z.object({
  kind: z.literal('replica_sample'),
  watching: z.boolean(),
  requests: z.number().nonnegative(),
  /** stampede_admissions_total by outcome. */
  admissions: counts,
  /** Purchase POSTs by HTTP status. */
  admissionStatuses: counts,
  readLatency: buckets,
  admissionLatency: buckets,
});

/** The worker, each second while it runs: the deliveries it holds unacknowledged. */
export const workerStatusFields = z.object({
  kind: z.literal('worker_status'),
  unacked: z.number().int().nonnegative(),
});
