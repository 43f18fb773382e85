import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import {
  createTestEvent,
  drainMessages,
  type PrivateRedis,
  startPrivateRedis,
  testSql,
  waitFor,
} from '@stampede/lab/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appReady, buildTestApp, type TestApp } from './app-fixture.js';

const ADMIN = 'room-admin-token';
const sql = testSql();
afterAll(() => sql.end({ timeout: 1 }));

describe('waiting room across a Redis restart', () => {
  let redis: PrivateRedis;
  let t: TestApp;
  /** The app's log lines, parsed. */
  const lines: { event?: string; suppressed?: number }[] = [];
  const logTo = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      done();
    },
  });
  beforeAll(async () => {
    redis = await startPrivateRedis();
    t = buildTestApp(
      {
        REDIS_URL: redis.url,
        WAITING_ROOM_SECRET: 'a-test-secret-of-the-waiting-room-32+chars',
        ADMIN_TOKEN: ADMIN,
        WAITING_ROOM_HEARTBEAT_S: 2,
        LOG_LEVEL: 'warn',
      },
      {},
      { logTo },
    );
    await appReady(t);
  });
  afterAll(async () => {
    await t.close();
    await redis.close();
  });

  const join = async (eventId: string) => {
    const res = await t.app.request(`/events/${eventId}/waiting-room`, { method: 'POST' });
    expect(res.status).toBe(201);
    return (await res.json()).token as string;
  };
  const poll = async (eventId: string, token: string) => {
    const res = await t.app.request(`/events/${eventId}/waiting-room?token=${token}`);
    return { status: res.status, body: await res.json() };
  };
  const buy = (eventId: string, tierId: string) =>
    t.app.request(`/events/${eventId}/purchases`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
      body: JSON.stringify({ tierId, quantity: 1, buyerId: 'eve' }),
    });

  it('when Redis is away, then joins and polls answer 503; when it restarts empty, then the room stays on, nobody is let in at once, and every buyer still polling keeps their place', async () => {
    const event = await createTestEvent(sql, [10]);
    const on = await t.app.request(`/admin/events/${event.id}/waiting-room`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ enabled: true, maxInside: 1 }),
    });
    expect(on.status).toBe(204);
    const [a, b, c, d] = [await join(event.id), await join(event.id), await join(event.id), await join(event.id)];
    expect((await poll(event.id, a)).status).toBe(200);
    expect((await poll(event.id, b)).body.position).toBe(1);
    expect((await buy(event.id, event.tiers[0]!.id)).status).toBe(401); // the replica has read the room: on

    await redis.kill();
    await waitFor(() => t.redis.status !== 'ready', { what: 'redis seen down' });
    // Past what the replica trusts of its last read: every purchase tries Redis, and fails.
    await new Promise((r) => setTimeout(r, 1_100));
    for (let i = 0; i < 5; i++) expect((await buy(event.id, event.tiers[0]!.id)).status).toBe(401);
    // One line for the five (the room kept on as last read), not one per purchase.
    expect(lines.filter((l) => l.event === 'room.state_unavailable')).toHaveLength(1);
    // While Redis is away the room answers 503 with when to try again, not a 500.
    const away = await t.app.request(`/events/${event.id}/waiting-room?token=${b}`);
    expect(away.status).toBe(503);
    expect(away.headers.get('retry-after')).toBe('5');
    expect((await t.app.request(`/events/${event.id}/waiting-room`, { method: 'POST' })).status).toBe(503);
    await redis.start();
    await waitFor(async () => (await t.redis.ping().catch(() => '')) === 'PONG', { what: 'redis back' });

    // The knobs come back from Postgres: the door is not open.
    const res = await buy(event.id, event.tiers[0]!.id);
    expect(res.status).toBe(401);
    expect((await res.json()).code).toBe('pass_required');
    // Read again: the four held back are told once.
    const unread = lines.filter((l) => l.event === 'room.state_unavailable');
    expect(unread.map((l) => l.suppressed)).toEqual([undefined, 4]);
    expect(await drainMessages(t.config.AMQP_PREFIX)).toHaveLength(0);

    // The later buyers poll first; the restored room lets nobody in during one heartbeat,
    // so b, who polls last, is still ahead of them.
    expect((await poll(event.id, d)).body).toMatchObject({ status: 'waiting', position: 1 });
    expect((await poll(event.id, c)).body).toMatchObject({ status: 'waiting', position: 1 });
    expect((await poll(event.id, b)).body).toMatchObject({ status: 'waiting', position: 1 });
    expect((await poll(event.id, d)).body).toMatchObject({ status: 'waiting', position: 3 });

    // After the hold, one slot: b, the first in line, goes in, and only b.
    await new Promise((r) => setTimeout(r, 2_100));
    const after = [await poll(event.id, b), await poll(event.id, c), await poll(event.id, d)];
    expect(after.map((x) => x.body.status)).toEqual(['admitted', 'waiting', 'waiting']);
    expect(after.map((x) => x.body.position)).toEqual([undefined, 1, 2]);
  });
});
