import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestEvent, testSql } from '../../testing/fixtures.js';
import { useBrowserLab } from './lab-fixture.js';

const sql = testSql();
afterAll(() => sql.end({ timeout: 1 }));

const ADMIN = `room-${randomUUID()}`;

describe('the waiting room through nginx, in Chromium', () => {
  const t = useBrowserLab({
    rateLimitPerSecond: 5_000,
    rateLimitBurst: 5_000,
    env: { ADMIN_TOKEN: ADMIN, WAITING_ROOM_SECRET: `secret-${randomUUID()}` },
  });

  const join = async (eventId: string) => {
    const res = await fetch(`${t.lab.base}/events/${eventId}/waiting-room`, { method: 'POST' });
    expect(res.status).toBe(201);
    return ((await res.json()) as { token: string }).token;
  };
  const buy = (eventId: string, tierId: string, pass?: string) =>
    fetch(`${t.lab.base}/events/${eventId}/purchases`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'idempotency-key': randomUUID(),
        ...(pass ? { authorization: `Bearer ${pass}` } : {}),
      },
      body: JSON.stringify({ tierId, quantity: 1, buyerId: 'anyone' }),
    });

  it('when a buyer waits behind one inside, then the browser page shows the place in line and the wait, loads nothing else, and once the pass of the one inside buys it is let in and stops polling', async () => {
    const event = await createTestEvent(sql, [10]);
    const on = await fetch(`${t.lab.base}/admin/events/${event.id}/waiting-room`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ enabled: true, releasePerMinute: 60, maxInside: 1 }),
    });
    expect(on.status).toBe(204);
    const first = await join(event.id);
    const second = await join(event.id);
    const admitted = await fetch(`${t.lab.base}/events/${event.id}/waiting-room?token=${first}`);
    expect(admitted.status).toBe(200);
    const { pass } = (await admitted.json()) as { pass: string };

    const page = await t.browser.newPage();
    const requested: string[] = [];
    page.on('request', (r) => requested.push(r.url()));
    const url = `${t.lab.base}/events/${event.id}/waiting-room?token=${second}`;
    const res = await page.goto(url);
    expect(`${res?.status()} ${await res?.text()}`).toMatch(/^202 /);
    expect(await page.textContent('#position')).toBe('1');
    expect(await page.textContent('#wait')).toBe('about 2 min'); // one slot, freed when a 120 s pass expires
    expect(await page.title()).toBe('Stampede waiting room');
    expect(requested).toEqual([url]);

    expect((await buy(event.id, event.tiers[0]!.id)).status).toBe(401);
    expect((await buy(event.id, event.tiers[0]!.id, pass)).status).toBe(202);

    // The slot is free: the page, refreshing itself, is let in and shows its pass...
    await page.waitForSelector('#pass', { timeout: 20_000 });
    expect(await page.textContent('h1')).toBe('It is your turn');
    expect(requested.length).toBeGreaterThan(1);
    expect(new Set(requested)).toEqual(new Set([url]));
    // ...and stops polling: a page holding a pass asks for nothing more (two refreshes of
    // WAITING_ROOM_POLL_S, 5 s, would have come by now).
    const polls = requested.length;
    await new Promise((r) => setTimeout(r, 11_000));
    expect(requested).toHaveLength(polls);
    await page.close();
  });
});
