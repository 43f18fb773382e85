import { randomUUID } from 'node:crypto';
import { createBackplanePublisher } from '@stampede/core/backplane';
import { createTestEvent, openEventStream, testLogger, testSql } from '@stampede/lab/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServedTestApp, serveTestApp } from './app-fixture.js';

const sql = testSql();
let t: ServedTestApp;

beforeAll(async () => {
  t = await serveTestApp({}, {}, { backplane: true });
});
afterAll(async () => {
  await t.close();
  await sql.end({ timeout: 1 });
});

async function queuedPurchase(): Promise<string> {
  const event = await createTestEvent(sql, [10]);
  const res = await fetch(`${t.base}/events/${event.id}/purchases`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
    body: JSON.stringify({ tierId: event.tiers[0]!.id, quantity: 1, buyerId: 'stream-buyer' }),
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { purchaseId: string }).purchaseId;
}

describe('GET /purchases/{id}/events', () => {
  it('when a queued purchase is followed and the worker announces its decision, then the stream sends queued, then confirmed, then ends', async () => {
    const purchaseId = await queuedPurchase();
    const stream = await openEventStream(`${t.base}/purchases/${purchaseId}/events`);
    try {
      expect(stream.status).toBe(200);
      expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(stream.headers.get('x-accel-buffering')).toBe('no');
      const first = await stream.next();
      expect(first?.event).toBe('queued');
      expect(JSON.parse(first!.data)).toMatchObject({ purchaseId, status: 'queued', decidedAt: null });

      // What the worker's after-commit step sends (worker/src/announce-decisions.ts).
      const decidedAt = new Date().toISOString();
      const publisher = createBackplanePublisher(t.redis, { ...t.config, INSTANCE_NAME: 'worker' }, testLogger());
      const other = randomUUID();
      expect(
        await publisher.publish({
          kind: 'purchases_decided',
          purchases: [
            { purchaseId: other, status: 'rejected', reason: 'sold_out', decidedAt },
            { purchaseId, status: 'confirmed', reason: null, decidedAt },
          ],
        }),
      ).toBe(true);
      const second = await stream.next();
      expect(second?.event).toBe('confirmed');
      expect(JSON.parse(second!.data)).toMatchObject({ purchaseId, status: 'confirmed', reason: null, decidedAt });
      expect(await stream.next()).toBeUndefined();
    } finally {
      stream.close();
    }
  });

  it('when the purchase is unknown or the id malformed, then the answer is problem+json and no stream', async () => {
    const unknown = await fetch(`${t.base}/purchases/${randomUUID()}/events`);
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toBe('application/problem+json');
    expect(((await unknown.json()) as { code: string }).code).toBe('purchase_not_found');
    const bad = await fetch(`${t.base}/purchases/not-an-id/events`);
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toBe('application/problem+json');
    await bad.arrayBuffer();
  });
});
