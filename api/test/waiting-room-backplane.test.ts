import { randomUUID } from 'node:crypto';
import { createTestEvent, drainMessages, testSql, waitFor } from '@stampede/lab/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from './app-fixture.js';

const ADMIN = 'room-admin-token';
const sql = testSql();
afterAll(() => sql.end({ timeout: 1 }));

describe('waiting room on/off across replicas, on the backplane', () => {
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    const room = { WAITING_ROOM_SECRET: 'a-test-secret-of-the-waiting-room-32+chars', ADMIN_TOKEN: ADMIN };
    a = buildTestApp({ ...room, INSTANCE_NAME: 'api-a' }, {}, { backplane: true });
    // The same prefixes: two replicas of one deployment.
    const shared = { REDIS_KEY_PREFIX: a.config.REDIS_KEY_PREFIX, AMQP_PREFIX: a.config.AMQP_PREFIX };
    b = buildTestApp({ ...room, ...shared, INSTANCE_NAME: 'api-b' }, {}, { backplane: true });
    await waitFor(() => [a, b].every((t) => t.backplane?.state() === 'up' && t.publisher.isConnected()), {
      what: 'both replicas on the backplane',
    });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  const buy = (t: TestApp, eventId: string, tierId: string) =>
    t.app.request(`/events/${eventId}/purchases`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
      body: JSON.stringify({ tierId, quantity: 1, buyerId: `b-${randomUUID()}` }),
    });

  it('when an admin turns a room on through one replica, then another that had read it off asks for a pass at once, not when its 30 s of trust run out', async () => {
    const event = await createTestEvent(sql, [100]);
    const tierId = event.tiers[0]!.id;
    // b reads the room off (and, with the backplane up, would trust that for 30 s).
    expect((await buy(b, event.id, tierId)).status).toBe(202);
    const on = await a.app.request(`/admin/events/${event.id}/waiting-room`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ enabled: true, releasePerMinute: 60 }),
    });
    expect(on.status).toBe(204);
    await waitFor(async () => ((await buy(b, event.id, tierId)).status === 401 ? true : undefined), {
      what: 'b refusing purchases without a pass',
      timeoutMs: 5_000,
      intervalMs: 100,
    });
    await drainMessages(a.config.AMQP_PREFIX);
  });
});
