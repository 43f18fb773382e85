import { handCheckAgreement } from '@stampede/lab/testing';
import { describe, expect, it } from 'vitest';
import { canonicalPurchaseMessage, purchaseIdFor, purchaseMessageSchema } from '../src/purchases/index.js';

const ID = '00000000-0000-4000-8000-0000000000a2';
const valid = {
  v: 1,
  purchaseId: purchaseIdFor('key-1', 0),
  idempotencyKey: 'key-1',
  eventId: ID,
  tierId: '00000000-0000-4000-8000-0000000000b3',
  buyerId: 'buyer-42',
  quantity: 2,
  requestId: 'req-1',
  acceptedBy: 'api-1',
  acceptedAt: '2026-12-03T11:58:00.123Z',
  bucket: 3,
  gated: true,
};
const { requestId: _r, acceptedBy: _a, bucket: _b, ...required } = valid;

const messages: unknown[] = [
  valid,
  required,
  { ...valid, v: 2 },
  { ...valid, purchaseId: valid.purchaseId.toUpperCase() },
  { ...valid, eventId: '00000000-0000-0000-8000-0000000000a2' },
  { ...valid, tierId: 'ffffffff-ffff-ffff-ffff-ffffffffffff' },
  { ...valid, tierId: `${ID} ` },
  { ...valid, idempotencyKey: '' },
  { ...valid, idempotencyKey: 'k'.repeat(128) },
  { ...valid, idempotencyKey: 'k'.repeat(129) },
  { ...valid, buyerId: 'b'.repeat(129) },
  { ...valid, buyerId: 'élodie' },
  { ...valid, quantity: 0 },
  { ...valid, quantity: 100 },
  { ...valid, quantity: 101 },
  { ...valid, quantity: 1.5 },
  { ...valid, quantity: '2' },
  { ...valid, requestId: 'r'.repeat(129) },
  { ...valid, requestId: '' },
  { ...valid, acceptedBy: 'a'.repeat(65) },
  { ...valid, acceptedAt: '2026-12-03T11:58:00Z' },
  { ...valid, acceptedAt: '2026-12-03T11:58:00.123+01:00' },
  { ...valid, acceptedAt: '2026-02-30T11:58:00.123Z' },
  { ...valid, acceptedAt: '2028-02-29T23:59:59.999Z' },
  { ...valid, acceptedAt: 'yesterday' },
  { ...valid, bucket: -1 },
  { ...valid, bucket: 1_024 },
  { ...valid, bucket: null },
  { ...valid, gated: 'true' },
  { ...valid, extra: true },
  JSON.parse(`{"__proto__":{"x":1},${JSON.stringify(valid).slice(1)}`),
  [valid],
  null,
  'text',
];

describe('the purchase message checked by hand', () => {
  it('when a message is as the API publishes it, then it is accepted as the schema returns it', () => {
    expect(canonicalPurchaseMessage(valid)).toEqual(purchaseMessageSchema.parse(valid));
    expect(canonicalPurchaseMessage(required)).toEqual(purchaseMessageSchema.parse(required));
  });

  it('when any message is checked by hand, then it accepts only what the schema accepts, and returns what it returns', () => {
    const { accepted, disagreements } = handCheckAgreement(canonicalPurchaseMessage, purchaseMessageSchema, messages);
    expect(disagreements).toEqual([]);
    // valid, required only, 128-char key, non-ASCII buyer, quantity 100, empty request id, a leap day.
    expect(accepted).toBe(7);
  });
});
