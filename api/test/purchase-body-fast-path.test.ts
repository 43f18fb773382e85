import { handCheckAgreement } from '@stampede/lab/testing';
import { describe, expect, it } from 'vitest';
import { canonicalPurchaseBody, purchaseBodySchema } from '../src/routes/purchase-routes.js';

const MAX = 4;
const TIER = '00000000-0000-4000-8000-0000000000a2';
const valid = { tierId: TIER, quantity: 2, buyerId: 'buyer-42' };

const bodies: unknown[] = [
  valid,
  { ...valid, tierId: TIER.toUpperCase() },
  { ...valid, tierId: '00000000-0000-0000-8000-0000000000a2' },
  { ...valid, tierId: '00000000-0000-4000-c000-0000000000a2' },
  { ...valid, tierId: 'ffffffff-ffff-ffff-ffff-ffffffffffff' },
  { ...valid, tierId: `${TIER} ` },
  { ...valid, tierId: 42 },
  { ...valid, quantity: 0 },
  { ...valid, quantity: MAX },
  { ...valid, quantity: MAX + 1 },
  { ...valid, quantity: 1.5 },
  { ...valid, quantity: '2' },
  { ...valid, quantity: Number.NaN },
  { ...valid, buyerId: '' },
  { ...valid, buyerId: 'a'.repeat(65) },
  { ...valid, buyerId: 'bad id' },
  { ...valid, buyerId: 'élodie@example' },
  { ...valid, extra: true },
  JSON.parse(`{"tierId":"${TIER}","quantity":2,"buyerId":"b","__proto__":{"x":1}}`),
  { tierId: TIER, quantity: 2 },
  { tierId: TIER, quantity: 2, buyerId: 'b', buyerid: 'c' },
  [TIER, 2, 'b'],
  null,
  'text',
];

describe('the purchase body checked by hand', () => {
  it('when a body is in the form the schema outputs, then it is accepted as the schema returns it', () => {
    expect(canonicalPurchaseBody(valid, MAX)).toEqual(purchaseBodySchema(MAX).parse(valid));
  });

  it('when any body is checked by hand, then it accepts only what the schema accepts, and returns what it returns', () => {
    const { accepted, disagreements } = handCheckAgreement(
      (body) => canonicalPurchaseBody(body, MAX),
      purchaseBodySchema(MAX),
      bodies,
    );
    expect(disagreements).toEqual([]);
    // The valid body, quantity at the maximum, and the non-ASCII buyer id.
    expect(accepted).toBe(3);
  });
});
