import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { asIteration, type FakeRequest, type FakeResponse, fake, last, resetFake, total } from './support/fake-k6.js';
import { createFakeStampede } from './support/fake-stampede.js';

vi.mock('k6', async () => (await import('./support/fake-k6.js')).k6Module);
vi.mock('k6/http', async () => (await import('./support/fake-k6.js')).httpModule);
vi.mock('k6/execution', async () => (await import('./support/fake-k6.js')).execModule);
vi.mock('k6/metrics', async () => (await import('./support/fake-k6.js')).metricsModule);

const EVENT = '11111111-2222-4333-8444-555555555555';
const ADMIN = 'k6-admin';

// biome-ignore lint/suspicious/noExplicitAny: a k6 script's exports are whatever the script defines
async function load(env: Record<string, string> = {}): Promise<Record<string, any>> {
  vi.resetModules();
  (globalThis as { __ENV?: object }).__ENV = {
    BASE_URL: 'http://lab:8080',
    EVENT_ID: EVENT,
    ADMIN_TOKEN: ADMIN,
    ...env,
  };
  return import('../waiting-room.js');
}

const json = (status: number, body: unknown): FakeResponse => ({
  status,
  headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify(body),
});

/**
 * The room in front of the fake Stampede: a line released at the set rate by the fake
 * clock, passes required to buy (unless `openDoor`: a room that forgot to check them).
 */
function fakeRoom(options: { openDoor?: boolean; oversell?: number } = {}) {
  const api = createFakeStampede({
    eventId: EVENT,
    capacities: [options.oversell ? 1 : 1_000],
    oversell: options.oversell,
  });
  const room = { on: false, rate: 0, start: 0, line: [] as string[], admitted: new Set<string>(), released: 0 };
  let next = 0;
  const release = () => {
    if (!room.on) return;
    const due = Math.floor(((Date.now() - room.start) * room.rate) / 60_000) - room.released;
    for (let i = 0; i < due && room.line.length > 0; i += 1) {
      room.admitted.add(room.line.shift()!);
      room.released += 1;
    }
  };
  const handler = (req: FakeRequest): FakeResponse => {
    const url = new URL(req.url);
    const admin = url.pathname === `/admin/events/${EVENT}/waiting-room`;
    if (admin && req.headers.Authorization !== `Bearer ${ADMIN}`) return json(401, { code: 'unauthorized' });
    release();
    if (admin && req.method === 'PUT') {
      const b = JSON.parse(req.body!);
      Object.assign(room, { on: b.enabled, rate: b.releasePerMinute ?? 0, start: Date.now() });
      return { status: 204 };
    }
    if (admin) return json(200, { released: room.released, waiting: room.line.length, inside: room.admitted.size });
    if (url.pathname === `/events/${EVENT}/waiting-room` && req.method === 'POST') {
      const token = `t${next++}`;
      room.line.push(token);
      return json(201, { token });
    }
    if (url.pathname === `/events/${EVENT}/waiting-room`) {
      const token = url.searchParams.get('token')!;
      if (room.admitted.has(token)) return json(200, { status: 'admitted', pass: `pass-${token}` });
      return json(202, { status: 'waiting', position: room.line.indexOf(token) + 1, pollAfterSeconds: 1 });
    }
    if (req.method === 'POST' && url.pathname === `/events/${EVENT}/purchases`) {
      const pass = /^Bearer pass-(t\d+)$/.exec(req.headers.Authorization ?? '');
      if (!pass && !options.openDoor) return json(401, { code: 'pass_required' });
      const body = JSON.parse(req.body!);
      return api.handler({
        ...req,
        body: JSON.stringify({ ...body, buyerId: pass ? `room-${pass[1]}` : body.buyerId }),
      });
    }
    return api.handler(req);
  };
  resetFake(handler);
  return { api, room };
}

const failedChecks = () =>
  fake()
    .checks.filter((c) => !c.ok)
    .map((c) => c.name);

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.spyOn(console, 'log').mockImplementation(() => undefined);
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('waiting-room.js', () => {
  it('when the env sets the arrivals, then they arrive at a constant rate over the window, with the four thresholds of the issue', async () => {
    fakeRoom();
    const m = await load({ ROOM_ARRIVALS: '30000', ROOM_ARRIVE_FOR: '5s', ROOM_RELEASE_PER_MINUTE: '1200' });
    expect(m.options.scenarios.arrivals).toMatchObject({
      executor: 'constant-arrival-rate',
      exec: 'arrive',
      rate: 6_000,
      duration: '5s',
      maxVUs: 30_000,
    });
    expect(typeof m[m.options.scenarios.observer.exec]).toBe('function');
    expect(m.options.thresholds).toMatchObject({
      room_poll_duration: ['p(99)<200'],
      room_release_per_minute: ['avg>=1080', 'avg<=1320'],
      purchases_without_pass: ['count==0'],
      tickets_oversold: ['value==0'],
    });
  });

  it('when buyers arrive, then each polls until released, is refused without its pass, and buys with it', async () => {
    const { api } = fakeRoom();
    const m = await load({ ROOM_RELEASE_PER_MINUTE: '60' });
    const run = m.setup();
    for (let vu = 1; vu <= 5; vu += 1) asIteration('arrivals', vu, vu, () => m.arrive(run));
    expect(failedChecks()).toEqual([]);
    expect(total('room_admitted')).toBe(5);
    expect(total('purchases_with_pass')).toBe(5);
    expect(total('purchases_without_pass')).toBe(0);
    expect(new Set([...api.purchases.values()].map((p) => p.buyerId)).size).toBe(5);
    expect(fake().requests.filter((r) => r.tags.kind === 'poll').length).toBeGreaterThan(5);
  });

  it('when the room lets purchases through without a pass, then purchases_without_pass counts them and the check fails', async () => {
    fakeRoom({ openDoor: true });
    const m = await load({ ROOM_RELEASE_PER_MINUTE: '600' });
    const run = m.setup();
    for (let vu = 1; vu <= 3; vu += 1) asIteration('arrivals', vu, vu, () => m.arrive(run));
    expect(total('purchases_without_pass')).toBe(3);
    expect(failedChecks()).toContain('a purchase without the pass is refused (401)');
  });

  it('when a line waits, then the observer measures the release rate the room keeps', async () => {
    const { room } = fakeRoom();
    const m = await load({ ROOM_RELEASE_PER_MINUTE: '600', ROOM_MAX_WAIT: '1m' });
    m.setup();
    room.line.push(...Array.from({ length: 200 }, (_, i) => `w${i}`));
    asIteration('observer', 1, 0, () => m.observe());
    const samples = fake().samples.room_release_per_minute!;
    expect(samples.length).toBeGreaterThan(10);
    const avg = samples.reduce((a, b) => a + b, 0) / samples.length;
    expect(avg).toBeGreaterThanOrEqual(540);
    expect(avg).toBeLessThanOrEqual(660);
  });

  it('when the lab oversold a tier, then teardown reports it; and without the admin token setup stops the run', async () => {
    fakeRoom({ oversell: 2 });
    const m = await load();
    m.teardown();
    expect(last('tickets_oversold')).toBeGreaterThan(0);
    const bad = await load({ ADMIN_TOKEN: 'wrong' });
    expect(() => bad.setup()).toThrow(/cannot turn the waiting room on/);
  });
});
