import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AcceptedIdsError, parseAcceptedIds } from '../src/reconcile/accepted-ids.js';
import { sumFigure, type TierFacts, tierFigures, verdictOf } from '../src/reconcile/tier-figures.js';

const tier = (over: Partial<TierFacts>): TierFacts => ({
  tierId: randomUUID(),
  eventId: randomUUID(),
  name: 'T',
  capacity: 10,
  sold: 0,
  confirmed: 0,
  stock: 10,
  held: 0,
  ...over,
});

describe('tier arithmetic', () => {
  it('when confirmed tickets exceed capacity, then the excess is oversold (and the counter mismatch is counted apart)', () => {
    const f = tierFigures(tier({ capacity: 10, sold: 10, confirmed: 13, stock: 0 }), true);
    expect(f.oversold).toBe(3);
    expect(f.soldMismatch).toBe(3);
    expect(tierFigures(tier({ capacity: 10, sold: 10, confirmed: 10, stock: 0 }), true).oversold).toBe(0);
  });

  it('when sold is above or below the confirmed sum under capacity, then soldMismatch is the absolute gap', () => {
    expect(tierFigures(tier({ sold: 6, confirmed: 4, stock: 4 }), true).soldMismatch).toBe(2);
    expect(tierFigures(tier({ sold: 3, confirmed: 4, stock: 7 }), true).soldMismatch).toBe(1);
  });

  it('when stock + held is below capacity − sold, then the gap is undersold; above it, the excess is a gate over-offer', () => {
    expect(tierFigures(tier({ capacity: 10, sold: 2, stock: 5, held: 1 }), true)).toMatchObject({
      undersold: 2,
      gateOverOffer: 0,
    });
    expect(tierFigures(tier({ capacity: 10, sold: 2, stock: 8, held: 3 }), true)).toMatchObject({
      undersold: 0,
      gateOverOffer: 3,
    });
  });

  it('when the stock key is absent, then nothing is stuck; when the gate was not measured, then undersold is null', () => {
    expect(tierFigures(tier({ sold: 2, stock: null }), true).undersold).toBe(0);
    expect(tierFigures(tier({ sold: 2, stock: 0 }), false).undersold).toBeNull();
    expect(sumFigure([tierFigures(tier({ stock: 3 }), true), tierFigures(tier({ stock: 9 }), true)], 'undersold')).toBe(
      8,
    );
    expect(sumFigure([tierFigures(tier({}), true), tierFigures(tier({}), false)], 'undersold')).toBeNull();
  });
});

describe('verdict', () => {
  const clean = { oversold: 0, soldMismatch: 0, lost: 0, duplicated: 0, undersold: 0, drained: true, queued: 0 };

  it('when every must-be-zero figure is 0, then it passes, even with figures not measured', () => {
    expect(verdictOf(clean)).toEqual({ pass: true, failures: [] });
    expect(verdictOf({ ...clean, lost: null, undersold: null, drained: null, queued: null }).pass).toBe(true);
  });

  it('when figures are not 0 or the queue did not drain, then it fails naming each one', () => {
    expect(verdictOf({ ...clean, lost: 3, undersold: 2, drained: false, queued: 7 })).toEqual({
      pass: false,
      failures: ['lost=3', 'undersold=2', 'not drained (queued=7)'],
    });
  });
});

describe('accepted-ids file', () => {
  const a = randomUUID();
  const b = randomUUID();

  it('when it has one id per line with blanks, comments and repeats, then it gives each id once', () => {
    expect(parseAcceptedIds(`# run 1\n${a}\n\n  ${b.toUpperCase()}  \n${a}\n`)).toEqual([a, b]);
  });

  it('when a line is not an id, then it fails naming the line rather than skipping it', () => {
    expect(() => parseAcceptedIds(`${a}\nnot-an-id\n`, 'ids.txt')).toThrow(
      new AcceptedIdsError('ids.txt:2: not a purchase id: not-an-id'),
    );
  });

  it('when lines carry ACCEPTED <id> among other output (text or JSON log lines), then only those ids count', () => {
    expect(
      parseAcceptedIds(`INFO[0001] ACCEPTED ${a} source=console\nINFO[0001] something else\nACCEPTED ${b}\n`),
    ).toEqual([a, b]);
    const jsonLog = [
      { level: 'info', msg: `ACCEPTED ${b} key-1`, source: 'console' },
      { level: 'info', msg: 'other' },
    ]
      .map((l) => JSON.stringify(l))
      .join('\n');
    expect(parseAcceptedIds(jsonLog)).toEqual([b]);
  });

  it('when it is JSON, then an array or an acceptedIds member is read', () => {
    expect(parseAcceptedIds(JSON.stringify([a, b]))).toEqual([a, b]);
    expect(parseAcceptedIds(JSON.stringify({ metrics: {}, acceptedIds: [b] }))).toEqual([b]);
    expect(() => parseAcceptedIds(JSON.stringify({ metrics: {} }))).toThrow(/acceptedIds/);
  });
});
