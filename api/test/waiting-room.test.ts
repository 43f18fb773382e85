import { randomUUID } from 'node:crypto';
import { redisKeys } from '@stampede/core/redis';
import { createRoomTokens, createWaitingRoom } from '@stampede/core/waiting-room';
import { createTestEvent, drainMessages, queueDepths, type TestEvent, testSql, waitFor } from '@stampede/lab/testing';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appReady, buildTestApp, type TestApp } from './app-fixture.js';

const SECRET = 'a-test-secret-of-the-waiting-room-32+chars';
const ADMIN = 'room-admin-token';
const sql = testSql();
afterAll(() => sql.end({ timeout: 1 }));

const admin = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };

describe('waiting room', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = buildTestApp({ WAITING_ROOM_SECRET: SECRET, ADMIN_TOKEN: ADMIN, BUYER_LIMIT_PER_EVENT: 6 });
    await appReady(t);
  });
  afterAll(() => t.close());

  const keys = () => redisKeys(t.config.REDIS_KEY_PREFIX);
  /** Joins through the module, at a chosen time. */
  async function arrive(room: ReturnType<typeof line>, event: TestEvent, now: number) {
    const j = await room.join(event.id, now);
    if (j.kind !== 'joined') throw new Error('room off');
    return { jti: j.jti, place: j.place };
  }
  const line = (passTtlMs = 60_000, heartbeatMs = 3_600_000) =>
    createWaitingRoom(t.redis, keys(), { passTtlMs, heartbeatMs });

  async function roomOn(event: TestEvent, settings: Record<string, unknown> = { releasePerMinute: 6000 }) {
    const res = await t.app.request(`/admin/events/${event.id}/waiting-room`, {
      method: 'PUT',
      headers: admin,
      body: JSON.stringify({ enabled: true, ...settings }),
    });
    expect(res.status).toBe(204);
  }

  async function join(event: TestEvent): Promise<string> {
    const res = await t.app.request(`/events/${event.id}/waiting-room`, { method: 'POST' });
    expect(res.status).toBe(201);
    return (await res.json()).token;
  }

  const poll = (event: TestEvent, token: string, accept = 'application/json') =>
    t.app.request(`/events/${event.id}/waiting-room?token=${encodeURIComponent(token)}`, { headers: { accept } });

  async function passFor(event: TestEvent): Promise<string> {
    const token = await join(event);
    return waitFor(
      async () => {
        const res = await poll(event, token);
        return res.status === 200 ? (await res.json()).pass : undefined;
      },
      { what: 'a pass', intervalMs: 50 },
    );
  }

  function buy(event: TestEvent, body: Record<string, unknown>, pass?: string) {
    return t.app.request(`/events/${event.id}/purchases`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'idempotency-key': randomUUID(),
        ...(pass ? { authorization: `Bearer ${pass}` } : {}),
      },
      body: JSON.stringify(body),
    });
  }

  it('when a buyer joins a room that is on, then the signed queue token carries event, place, iat, exp and jti, and the poll answers 202 with a cacheable position', async () => {
    const event = await createTestEvent(sql, [10]);
    await roomOn(event, { maxInside: 1 });
    const first = await join(event);
    const second = await join(event);
    expect(decodeProtectedHeader(second)).toMatchObject({ alg: 'HS256', typ: 'stampede-queue+jwt' });
    const claims = decodeJwt(second);
    expect(claims).toMatchObject({ eid: event.id });
    expect(typeof claims.pos).toBe('string');
    expect(claims.jti).toMatch(/^[0-9a-f-]{36}$/);
    expect(claims.exp! - claims.iat!).toBe(t.config.WAITING_ROOM_TOKEN_TTL_S);

    expect((await poll(event, first)).status).toBe(200); // the one slot inside
    const res = await poll(event, second);
    expect(res.status).toBe(202);
    expect(res.headers.get('cache-control')).toBe(`public, max-age=${t.config.WAITING_ROOM_POLL_S}`);
    expect(await res.json()).toMatchObject({ status: 'waiting', position: 1, preQueue: false });
  });

  it('when the one buyer inside buys with their pass, then their slot is free at once and the next buyer is let in, long before the pass expires', async () => {
    const event = await createTestEvent(sql, [10]);
    await roomOn(event, { maxInside: 1 });
    const first = await join(event);
    const second = await join(event);
    const admitted = await poll(event, first);
    expect(admitted.status).toBe(200);
    const { pass } = await admitted.json();
    expect(await (await poll(event, second)).json()).toMatchObject({ status: 'waiting', position: 1 });

    expect((await buy(event, { tierId: event.tiers[0]!.id, quantity: 1, buyerId: 'x' }, pass)).status).toBe(202);
    expect(await (await poll(event, second)).json()).toMatchObject({ status: 'admitted' });
    // The spent buyer is not let in again by their queue token.
    expect((await poll(event, first)).status).toBe(410);
    expect(await drainMessages(t.config.AMQP_PREFIX)).toHaveLength(1);
  });

  it('when the room is off, then joining is answered 409 waiting_room_off and writes nothing', async () => {
    const event = await createTestEvent(sql, [10]);
    const res = await t.app.request(`/events/${event.id}/waiting-room`, { method: 'POST' });
    expect(res.status).toBe(409);
    expect((await res.json()).code).toBe('waiting_room_off');
    expect(await t.redis.exists(keys().roomLine(event.id))).toBe(0);
  });

  it('when buyers arrive before the opening, then they stand ahead of later arrivals in an order that is not their arrival order, and later ones are first come, first served', async () => {
    const event = await createTestEvent(sql, [10]);
    const room = line();
    const opensAtMs = Date.now() + 60_000;
    await room.configure(event.id, { enabled: true, releasePerMinute: 60, maxInside: 0, opensAtMs });
    const early: string[] = [];
    for (let i = 0; i < 30; i++) early.push((await arrive(room, event, opensAtMs - 30_000 + i)).jti);
    const late: string[] = [];
    for (let i = 0; i < 5; i++) late.push((await arrive(room, event, opensAtMs + 1 + i)).jti);
    const order = await t.redis.zrange(keys().roomLine(event.id), '0', '-1');
    expect(new Set(order.slice(0, 30))).toEqual(new Set(early));
    expect(order.slice(0, 30)).not.toEqual(early); // 1 chance in 30! of failing
    expect(order.slice(30)).toEqual(late);
  });

  it('when buyers poll over time, then the room releases them at the configured rate, no faster after a pause, and each only once', async () => {
    const event = await createTestEvent(sql, [10]);
    const room = line(600_000);
    const opensAtMs = Date.now() - 1;
    await room.configure(event.id, { enabled: true, releasePerMinute: 600, maxInside: 0, opensAtMs });
    const tokens = [];
    for (let i = 0; i < 100; i++) {
      tokens.push(await arrive(room, event, opensAtMs + 1 + i / 1000));
    }
    const released = async () => Number(await t.redis.hget(keys().roomConfig(event.id), 'released'));
    await room.poll(event.id, tokens[99]!, opensAtMs + 1_000);
    expect(await released()).toBe(10); // 600 a minute: 10 in the first second
    await room.poll(event.id, tokens[99]!, opensAtMs + 1_000);
    expect(await released()).toBe(10);
    await room.poll(event.id, tokens[99]!, opensAtMs + 1_500);
    expect(await released()).toBe(15);
    // Nobody polled for a minute: the room lets in at most two seconds' worth, not a crowd.
    await room.poll(event.id, tokens[99]!, opensAtMs + 61_500);
    expect(await released()).toBe(35);
    const admitted = await t.redis.zrange(keys().roomAdmitted(event.id), '0', '-1');
    expect(admitted).toEqual(expect.arrayContaining(tokens.slice(0, 35).map((x) => x.jti)));
    expect(new Set(admitted).size).toBe(35);
    expect(await room.poll(event.id, tokens[0]!, opensAtMs + 61_500)).toMatchObject({ kind: 'admitted' });
  });

  it('when the room caps buyers inside, then a pass that expires unused frees its slot for the next buyer', async () => {
    const event = await createTestEvent(sql, [10]);
    const room = line(10_000);
    const opensAtMs = Date.now() - 1;
    await room.configure(event.id, { enabled: true, releasePerMinute: 0, maxInside: 3, opensAtMs });
    const tokens = [];
    for (let i = 0; i < 8; i++) {
      tokens.push(await arrive(room, event, opensAtMs + 1 + i / 1000));
    }
    const now = opensAtMs + 100;
    expect(await room.poll(event.id, tokens[7]!, now)).toMatchObject({ kind: 'waiting', rank: 4 });
    expect((await room.state(event.id))?.inside).toBe(3);
    expect(await room.poll(event.id, tokens[3]!, now + 5_000)).toMatchObject({ kind: 'waiting', rank: 0 });
    // The first three never bought: their passes expire and the next three go in.
    expect(await room.poll(event.id, tokens[3]!, now + 10_001)).toMatchObject({ kind: 'admitted' });
    expect(await room.poll(event.id, tokens[0]!, now + 10_001)).toEqual({ kind: 'left', why: 'released' });
    expect(Number(await t.redis.hget(keys().roomConfig(event.id), 'released'))).toBe(6);
  });

  it('when a buyer stops polling, then their turn is skipped, the next buyer goes in, and the skipped token is answered 410', async () => {
    const event = await createTestEvent(sql, [10]);
    const room = line(60_000, 2_000);
    const opensAtMs = Date.now() - 1;
    await room.configure(event.id, { enabled: true, releasePerMinute: 0, maxInside: 1, opensAtMs: opensAtMs - 1 });
    const gone = await arrive(room, event, opensAtMs);
    const here = await arrive(room, event, opensAtMs + 1);
    // Only `here` polls again: when the one slot comes, `gone` is first in line but silent.
    expect(await room.poll(event.id, here, opensAtMs + 3_000)).toMatchObject({ kind: 'admitted' });
    expect(await room.poll(event.id, gone, opensAtMs + 3_000)).toEqual({ kind: 'left', why: 'skipped' });
    await roomOn(event, { maxInside: 1 });
    const tokens = createRoomTokens(SECRET);
    const token = await tokens.signQueueToken({ eventId: event.id, place: gone.place, jti: gone.jti, ttlS: 60 });
    const res = await poll(event, token);
    expect(res.status).toBe(410);
    expect((await res.json()).code).toBe('left_waiting_room');
  });

  it('when the room is on and a purchase comes without a pass, then it is answered 401 pass_required and nothing changed: no row, no gate key, nothing queued', async () => {
    const event = await createTestEvent(sql, [10]);
    await roomOn(event);
    const res = await buy(event, { tierId: event.tiers[0]!.id, quantity: 1, buyerId: 'alice' });
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect((await res.json()).code).toBe('pass_required');
    const [{ n }] = await sql`select count(*)::int as n from purchases where event_id = ${event.id}`;
    expect(n).toBe(0);
    expect(
      await t.redis.exists(keys().stock(event.tiers[0]!.eventId, event.tiers[0]!.id), keys().buyer(event.id, 'alice')),
    ).toBe(0);
    expect((await queueDepths(t.config.AMQP_PREFIX)).queue).toBe(0);
  });

  it('when the pass is forged, expired, for another event or a queue token, then the purchase is answered 403, 401, 403, 403 and nothing is queued', async () => {
    const event = await createTestEvent(sql, [10]);
    const other = await createTestEvent(sql, [10]);
    await roomOn(event);
    await roomOn(other);
    const tierId = event.tiers[0]!.id;
    const body = { tierId, quantity: 1, buyerId: 'mallory' };
    const subject = randomUUID();
    const forged = await createRoomTokens('another-secret-that-is-also-32-chars-long').signPass({
      eventId: event.id,
      subject,
      jti: randomUUID(),
      expiresAtMs: Date.now() + 60_000,
    });
    const real = createRoomTokens(SECRET);
    const expired = await real.signPass({
      eventId: event.id,
      subject,
      jti: randomUUID(),
      expiresAtMs: Date.now() - 1_000,
    });
    const otherEvent = await passFor(other);
    const queueToken = await join(event);
    const answers = [];
    for (const pass of [forged, expired, otherEvent, queueToken]) {
      const res = await buy(event, body, pass);
      answers.push([res.status, (await res.json()).code]);
    }
    expect(answers).toEqual([
      [403, 'pass_invalid'],
      [401, 'pass_expired'],
      [403, 'pass_wrong_event'],
      [403, 'pass_invalid'],
    ]);
    expect((await queueDepths(t.config.AMQP_PREFIX)).queue).toBe(0);
  });

  it('when a bot changes buyerId on each purchase with one pass, then the buyer limit still binds it, to the pass subject', async () => {
    const event = await createTestEvent(sql, [100]);
    await roomOn(event);
    const pass = await passFor(event);
    const tierId = event.tiers[0]!.id;
    const statuses = [];
    for (const buyerId of ['bot-1', 'bot-2', 'bot-3'])
      statuses.push((await buy(event, { tierId, quantity: 3, buyerId }, pass)).status);
    expect(statuses).toEqual([202, 202, 409]);
    const messages = await drainMessages(t.config.AMQP_PREFIX);
    expect(messages).toHaveLength(2);
    const subject = decodeJwt(pass).sub;
    expect(messages.map((m) => m.body.buyerId)).toEqual([`room:${subject}`, `room:${subject}`]);
    // A second pass is a second buyer.
    expect((await buy(event, { tierId, quantity: 3, buyerId: 'bot-1' }, await passFor(event))).status).toBe(202);
    await drainMessages(t.config.AMQP_PREFIX);
  });

  it('when the room is turned off again, then a purchase without a pass is accepted as before', async () => {
    const event = await createTestEvent(sql, [10]);
    await roomOn(event);
    const off = await t.app.request(`/admin/events/${event.id}/waiting-room`, {
      method: 'PUT',
      headers: admin,
      body: JSON.stringify({ enabled: false }),
    });
    expect(off.status).toBe(204);
    expect((await buy(event, { tierId: event.tiers[0]!.id, quantity: 1, buyerId: 'carol' })).status).toBe(202);
    expect(await drainMessages(t.config.AMQP_PREFIX)).toHaveLength(1);
  });

  it('when a browser asks for its place, then it gets a small HTML page with the place and no external assets', async () => {
    const event = await createTestEvent(sql, [10]);
    await roomOn(event, { maxInside: 1 });
    await passFor(event);
    const token = await join(event);
    const res = await poll(event, token, 'text/html,application/xhtml+xml');
    expect(res.status).toBe(202);
    const html = await res.text();
    expect(html).toContain('<strong id="position">1</strong>');
    expect(html).not.toMatch(/(src|href)=/);
  });
});
