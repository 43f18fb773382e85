import type { BackplanePublisher } from '@stampede/core/backplane';
import type { DecidedPurchase } from '@stampede/core/purchases';

/** The most purchases one backplane message carries (its schema's bound). */
const PER_MESSAGE = 1_000;

/**
 * Tells every replica the final state of each purchase of a committed batch, so a buyer
 * following its purchase's stream hears it at once. Best effort, like every backplane
 * message: a stream that missed it reads the stored state again (api/src/purchase-stream).
 */
export async function announceDecisions(
  backplane: BackplanePublisher | undefined,
  decided: DecidedPurchase[],
): Promise<void> {
  if (!backplane) return;
  for (let i = 0; i < decided.length; i += PER_MESSAGE) {
    const purchases = decided.slice(i, i + PER_MESSAGE).map((d) => ({
      purchaseId: d.purchaseId,
      status: d.status,
      reason: d.reason ?? null,
      decidedAt: new Date(d.decidedAt).toISOString(),
    }));
    await backplane.publish({ kind: 'purchases_decided', purchases });
  }
}
