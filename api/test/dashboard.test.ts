import { randomUUID } from 'node:crypto';
import { type BackplaneMessageOf, subscribeBackplane } from '@stampede/core/backplane';
import {
  createTestEvent,
  type EventStreamReader,
  openEventStream,
  startTcpProxy,
  testDatabaseUrlVia,
  testLogger,
  testSql,
  waitFor,
} from '@stampede/lab/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectMarks, type Frame, quantileMs } from '../src/dashboard/frame.js';
import { type ServedTestApp, serveTestApp } from './app-fixture.js';

const sql = testSql();
afterAll(() => sql.end({ timeout: 1 }));

describe('dashboard figures (pure)', () => {
  it('when buckets hold observations, then p50 and p99 fall inside the right bucket, and none gives null', () => {
    // 10 observations ≤ 1 ms, 90 more ≤ 5 ms, 100 in all; cumulative as Prometheus keeps them.
    const buckets = [0, 10, 10, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100];
    expect(quantileMs(buckets, 0.5)).toBeGreaterThan(2.5);
    expect(quantileMs(buckets, 0.5)).toBeLessThanOrEqual(5);
    expect(quantileMs(buckets, 0.05)).toBeLessThanOrEqual(1);
    expect(
      quantileMs(
        buckets.map(() => 0),
        0.5,
      ),
    ).toBeNull();
  });

  it('when health changes between two frames, then each change is one mark, and an unchanged frame makes none', () => {
    const base: Frame = {
      t: 1,
      replicas: { 'api-1': 5, 'api-2': 5 },
      admissions: { '202': 0, '409 sold out': 0, '409 limit': 0, '429': 0, '503': 0 },
      latencyMs: { read: { p50: null, p99: null }, admission: { p50: null, p99: null } },
      queue: { ready: 0, unacked: 0, consumers: 1 },
      drainRate: 0,
      workerUp: true,
      health: { redis: true, postgres: true, broker: true },
      events: { e: { sale: 'not_open', tiers: [] } },
    };
    const next: Frame = {
      ...base,
      t: 2,
      replicas: { 'api-1': 5 },
      workerUp: false,
      health: { redis: false, postgres: true, broker: true },
      events: { e: { sale: 'open', tiers: [] } },
    };
    expect(detectMarks(base, { ...base, t: 2 })).toEqual([]);
    expect(detectMarks(base, next).map((m) => [m.kind, m.text])).toEqual([
      ['bad', 'worker stopped'],
      ['bad', 'Redis down'],
      ['info', 'sale opened'],
    ]);
    // Redis down: the other replicas cannot be heard, so their silence is not "gone".
    expect(
      detectMarks({ ...next, health: { ...next.health, redis: true } }, { ...next, replicas: {} }).map((m) => m.text),
    ).toEqual(['Redis down']);
    expect(detectMarks(base, { ...base, t: 2, replicas: { 'api-1': 5 } }).map((m) => m.text)).toEqual(['api-2 gone']);
  });
});

describe('the dashboard, served', () => {
  let t: ServedTestApp;
  beforeAll(async () => {
    t = await serveTestApp({}, {}, { backplane: true });
  });
  afterAll(() => t.close());

  it('when /dashboard is asked, then it is one page that loads nothing from anywhere', async () => {
    const res = await fetch(`${t.base}/dashboard`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)=/);
    expect(html).toContain('/dashboard/stream');
  });

  it('when two viewers watch and purchases arrive, then both get history then a frame a second from one sampler, with the queue, tickets and 202s, and sampling outlives them for a reconnect, then stops', async () => {
    const event = await createTestEvent(sql, [10, 5]);
    const heard = subscribeBackplane(t.config, testLogger(t.config));
    const samples: BackplaneMessageOf<'replica_sample'>[] = [];
    heard.on('replica_sample', (m) => samples.push(m));
    await heard.ready();
    const url = `${t.base}/dashboard/stream?eventId=${event.id}`;
    const viewers: EventStreamReader[] = [await openEventStream(url), await openEventStream(url)];
    try {
      for (const v of viewers) {
        expect(v.status).toBe(200);
        expect(v.headers.get('content-type')).toMatch(/^text\/event-stream/);
        expect((await v.next())?.event).toBe('history');
      }
      for (let i = 0; i < 3; i++) {
        const res = await fetch(`${t.base}/events/${event.id}/purchases`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
          body: JSON.stringify({ tierId: event.tiers[0]!.id, quantity: 1, buyerId: `dash-${i}` }),
        });
        expect(res.status).toBe(202);
      }
      const frames: Frame[] = [];
      const started = Date.now();
      await waitFor(
        async () => {
          const e = await viewers[0]!.next(3_000);
          frames.push((JSON.parse(e!.data) as { frame: Frame }).frame);
          return frames.some((f) => f.queue?.ready === 3) && frames.some((f) => f.admissions['202'] > 0)
            ? true
            : undefined;
        },
        { timeoutMs: 15_000, what: 'a frame with the three queued purchases and their 202s' },
      );
      const last = frames[frames.length - 1]!;
      expect(last.health).toEqual({ redis: true, postgres: true, broker: true });
      expect(last.workerUp).toBe(false);
      expect(last.queue).toMatchObject({ ready: 3, consumers: 0, unacked: 0 });
      expect(Object.keys(last.replicas)).toEqual([t.config.INSTANCE_NAME]);
      expect(last.events[event.id]?.sale).toBe('open');
      expect(last.events[event.id]?.tiers.map((x) => x.capacity).sort((a, b) => a - b)).toEqual([5, 10]);
      // The other viewer got the same frames (one sampler), about one a second.
      const second = await viewers[1]!.next(3_000);
      expect(second?.event).toBe('frame');
      const seconds = (Date.now() - started) / 1000;
      const own = samples.filter((s) => s.from === t.config.INSTANCE_NAME && s.watching);
      expect(own.length).toBeGreaterThanOrEqual(Math.floor(seconds) - 1);
      expect(own.length).toBeLessThanOrEqual(Math.ceil(seconds) + 2);
    } finally {
      for (const v of viewers) v.close();
    }
    // A viewer back within seconds (an EventSource reconnecting) finds the history still there.
    await new Promise((r) => setTimeout(r, 500));
    const back = await openEventStream(url);
    try {
      const history = JSON.parse((await back.next())!.data) as { frames: Frame[] };
      expect(history.frames.length).toBeGreaterThanOrEqual(2);
      expect(history.frames.some((f) => f.queue?.ready === 3)).toBe(true);
    } finally {
      back.close();
    }
    // Nobody watches: a few seconds later the sampler stops, and nothing more is published.
    await new Promise((r) => setTimeout(r, 4_500));
    const after = samples.length;
    await new Promise((r) => setTimeout(r, 2_000));
    expect(samples.length).toBe(after);
    await heard.close();
  }, 40_000);

  it('when the event id is not a UUID, then the stream is refused with problem+json', async () => {
    const res = await fetch(`${t.base}/dashboard/stream?eventId=nope`);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    await res.arrayBuffer();
  });
});

describe('the dashboard timeline, when dependencies go away', () => {
  it('when Redis, Postgres and the broker are cut one after the other and healed, then the frames say so and the timeline marks each going and coming back', async () => {
    const redis = await startTcpProxy(6379);
    const postgres = await startTcpProxy(5432);
    const broker = await startTcpProxy(5672);
    const t = await serveTestApp({
      REDIS_URL: `redis://127.0.0.1:${redis.port}`,
      DATABASE_URL: testDatabaseUrlVia(postgres.port),
      AMQP_URL: `amqp://guest:guest@127.0.0.1:${broker.port}`,
    });
    const event = await createTestEvent(sql, [3]);
    const stream = await openEventStream(`${t.base}/dashboard/stream?eventId=${event.id}`);
    const marks: string[] = [];
    let last: Frame | undefined;
    const until = (what: string, ok: (f: Frame) => boolean) =>
      waitFor(
        async () => {
          const e = await stream.next(5_000);
          if (e?.event !== 'frame') return undefined;
          const u = JSON.parse(e.data) as { frame: Frame; marks: { text: string }[] };
          last = u.frame;
          marks.push(...u.marks.map((m) => m.text));
          return ok(u.frame) || undefined;
        },
        { timeoutMs: 30_000, what },
      );
    try {
      expect((await stream.next())?.event).toBe('history');
      await until('all up', (f) => f.health.redis && f.health.postgres && f.health.broker);
      await redis.cut();
      await until('redis down', (f) => !f.health.redis);
      await redis.heal();
      await until('redis back', (f) => f.health.redis);
      await postgres.cut();
      await until('postgres down', (f) => !f.health.postgres);
      // Postgres away, tickets left are still drawn: the last value known.
      expect(last?.events[event.id]?.tiers.map((x) => x.remaining)).toEqual([3]);
      await postgres.heal();
      await until('postgres back', (f) => f.health.postgres);
      await broker.cut();
      await until('broker down', (f) => !f.health.broker && f.queue === null);
      await broker.heal();
      await until('broker back', (f) => f.health.broker && f.queue !== null);
      expect(marks).toEqual([
        'Redis down',
        'Redis back',
        'Postgres down',
        'Postgres back',
        'broker down',
        'broker back',
      ]);
    } finally {
      stream.close();
      await t.close();
      await Promise.all([redis.close(), postgres.close(), broker.close()]);
    }
  }, 90_000);
});
