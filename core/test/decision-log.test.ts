import { decisionsOfLine, loggedDecision, readLoggedDecision } from '@stampede/core/decision-log';
import type { DecidedPurchase } from '@stampede/core/purchases';
import { describe, expect, it } from 'vitest';

const decision = (over: Partial<DecidedPurchase>, requestId?: string): DecidedPurchase => ({
  kind: 'decided',
  message: {
    v: 1,
    purchaseId: 'p-1',
    idempotencyKey: 'k',
    eventId: '3a5c58f3-05a6-477c-afec-0e4277d62780',
    tierId: '4b5c58f3-05a6-477c-afec-0e4277d62781',
    buyerId: 'b',
    quantity: 1,
    acceptedAt: '2026-11-22T10:00:00.000Z',
    gated: true,
    ...(requestId ? { requestId } : {}),
  },
  purchaseId: 'p-1',
  status: 'confirmed',
  reason: null,
  duplicate: false,
  decidedAt: '2026-11-22T10:00:01.000Z',
  ...over,
});

describe("a batch line's decisions", () => {
  it('when decisions are written, then each is a short tuple without the fields that say nothing', () => {
    expect(loggedDecision(decision({}, 'r-1'))).toEqual(['p-1', 'r-1', 'confirmed']);
    expect(loggedDecision(decision({ status: 'rejected', reason: 'sold_out' }, 'r-1'))).toEqual([
      'p-1',
      'r-1',
      'rejected',
      'sold_out',
    ]);
    expect(loggedDecision(decision({ duplicate: true }))).toEqual(['p-1', null, 'confirmed', null, true]);
  });

  it('when a line is read back through JSON, then each purchase has its request, status, reason and duplicate', () => {
    const line = JSON.parse(
      JSON.stringify({
        decisions: [
          loggedDecision(decision({}, 'r-1')),
          loggedDecision(decision({ purchaseId: 'p-2', status: 'rejected', reason: 'limit_exceeded' }, 'r 2 "q"')),
          loggedDecision(decision({ purchaseId: 'p-3', status: 'rejected', reason: 'sold_out', duplicate: true })),
          'not a tuple',
          [1, 2, 3],
        ],
      }),
    ) as Record<string, unknown>;
    expect(decisionsOfLine(line)).toEqual([
      { purchaseId: 'p-1', requestId: 'r-1', status: 'confirmed', duplicate: false },
      { purchaseId: 'p-2', requestId: 'r 2 "q"', status: 'rejected', reason: 'limit_exceeded', duplicate: false },
      { purchaseId: 'p-3', status: 'rejected', reason: 'sold_out', duplicate: true },
    ]);
    expect(decisionsOfLine({ event: 'purchase.accepted' })).toEqual([]);
    expect(readLoggedDecision(['p-1'])).toBeUndefined();
  });
});
