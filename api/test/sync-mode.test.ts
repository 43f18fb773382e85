import { randomUUID } from 'node:crypto';
import { createTestEvent, queueDepths, testSql, waitFor } from '@stampede/lab/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { buildTestApp } from './app-fixture.js';

const sql = testSql();
afterAll(() => sql.end({ timeout: 1 }));

describe('PURCHASE_MODE=sync (the monolith baseline)', () => {
  it('when a burst larger than capacity buys in sync mode, then each purchase is decided in the request and sold equals capacity', async () => {
    const t = buildTestApp({ PURCHASE_MODE: 'sync' });
    try {
      await waitFor(() => t.publisher.isConnected(), { what: 'broker' });
      const event = await createTestEvent(sql, [25]);
      const tierId = event.tiers[0]!.id;
      const answers = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          t.app.request(`/events/${event.id}/purchases`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
            body: JSON.stringify({ tierId, quantity: 1, buyerId: `sync-${i}` }),
          }),
        ),
      );
      const statuses = answers.map((r) => r.status);
      expect(statuses.filter((s) => s === 201)).toHaveLength(25);
      expect(statuses.filter((s) => s === 409)).toHaveLength(15);
      const [tier] = await sql<{ sold: number }[]>`select sold from tiers where id = ${tierId}`;
      expect(tier!.sold).toBe(25);
      const [{ n }] = await sql<
        { n: number }[]
      >`select count(*)::int as n from purchases where tier_id = ${tierId} and status = 'confirmed'`;
      expect(n).toBe(25);
      expect((await queueDepths(t.config.AMQP_PREFIX)).queue).toBe(0);
    } finally {
      await t.close();
    }
  });
});
