import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEvent, testSql } from '../../testing/fixtures.js';
import { buy, type PrivateLab, startPrivateLab } from './lab-fixture.js';

const TOKEN = `admin-${randomUUID()}`;
const sql = testSql();
afterAll(() => sql.end({ timeout: 1 }));

const CATALOG_TTL_MS = 60_000;

describe('three replica processes kept in step by the backplane', () => {
  let lab: PrivateLab;
  // A catalog TTL of a minute: only the backplane can explain a close seen sooner.
  beforeAll(async () => {
    lab = await startPrivateLab({ env: { ADMIN_TOKEN: TOKEN, CATALOG_TTL_MS: String(CATALOG_TTL_MS) } });
  }, 180_000);
  afterAll(async () => {
    await lab?.close();
  }, 60_000);

  // Each replica on its own port: nginx balances, and this test must pick who answers.
  const replica = (name: 'api-1' | 'api-2' | 'api-3') => `http://127.0.0.1:${lab.state.options.apiPorts[name]}`;

  it(
    'when a sale is closed through api-1, then api-2 and api-3 refuse purchases before their catalog TTL would have',
    async () => {
      const event = await createTestEvent(sql, [1_000]);
      const tierId = event.tiers[0]!.id;
      // These buys fill each replica's catalog: no entry expires before filledFrom + the TTL.
      const filledFrom = performance.now();
      for (const name of ['api-1', 'api-2', 'api-3'] as const)
        expect((await buy(replica(name), event.id, tierId)).status).toBe(202);

      const closed = await fetch(`${replica('api-1')}/admin/events/${event.id}/sale/close`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(closed.status).toBe(204);
      const refusedAfter = await Promise.all(
        (['api-2', 'api-3'] as const).map(async (name) => {
          for (;;) {
            const res = await buy(replica(name), event.id, tierId);
            if (res.status !== 202) {
              expect(res.status).toBe(409);
              expect(res.body.code).toBe('sale_not_open');
              return performance.now() - filledFrom;
            }
            if (performance.now() - filledFrom > CATALOG_TTL_MS) throw new Error(`${name} still accepting a TTL later`);
          }
        }),
      );
      // Refused while its catalog entry was still fresh: only the backplane can have told it.
      for (const ms of refusedAfter) expect(ms).toBeLessThan(CATALOG_TTL_MS);
    },
    CATALOG_TTL_MS + 30_000,
  );
});
