import { DECISIONS_PER_LINE, decisionsOfLine } from '@stampede/core/decision-log';
import { createLogger } from '@stampede/core/logger';
import type { DecidedPurchase } from '@stampede/core/purchases';
import { describe, expect, it } from 'vitest';
import { logDecisions } from '../src/decision-lines.js';

function memoryLogger() {
  const lines: Record<string, unknown>[] = [];
  const destination = { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) };
  const log = createLogger({ LOG_LEVEL: 'info', LOG_PRETTY: false, INSTANCE_NAME: 'w-test' }, 'worker', destination);
  return { log, lines };
}

const decided = (n: number): DecidedPurchase[] =>
  Array.from({ length: n }, (_, k) => ({
    kind: 'decided',
    message: { purchaseId: `p-${k}`, requestId: `r-${k}` } as DecidedPurchase['message'],
    purchaseId: `p-${k}`,
    status: k % 2 ? 'rejected' : 'confirmed',
    reason: k % 2 ? 'sold_out' : null,
    duplicate: false,
    decidedAt: '2026-11-22T10:00:01.000Z',
  }));

describe("the worker's decision lines", () => {
  it('when a batch fits one line, then one line carries its fields and every decision', () => {
    const { log, lines } = memoryLogger();
    logDecisions(log, { event: 'batch.committed', size: 500 }, 'batch committed', decided(500));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ event: 'batch.committed', size: 500, msg: 'batch committed' });
    expect(lines[0]).not.toHaveProperty('part');
    const read = decisionsOfLine(lines[0]);
    expect(read.map((d) => d.purchaseId)).toEqual(decided(500).map((d) => d.purchaseId));
    expect(read[1]).toEqual({
      purchaseId: 'p-1',
      requestId: 'r-1',
      status: 'rejected',
      reason: 'sold_out',
      duplicate: false,
    });
  });

  it('when there are more decisions than a line holds, then they continue on numbered lines and only the first has the counts', () => {
    const { log, lines } = memoryLogger();
    const n = DECISIONS_PER_LINE * 2 + 1;
    logDecisions(log, { event: 'batch.committed', size: n }, 'batch committed', decided(n));
    expect(lines.map((l) => [l.event, l.part, l.parts, l.size])).toEqual([
      ['batch.committed', 1, 3, n],
      ['batch.committed', 2, 3, undefined],
      ['batch.committed', 3, 3, undefined],
    ]);
    const ids = lines.flatMap((l) => decisionsOfLine(l).map((d) => d.purchaseId));
    expect(ids).toEqual(decided(n).map((d) => d.purchaseId));
  });
});
