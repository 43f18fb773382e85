import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { killComponent, startComponent, stopComponent } from '../../src/local-lab/lab.js';
import { openEventStream } from '../../testing/event-stream.js';
import { createTestEvent, testSql, waitFor } from '../../testing/fixtures.js';
import { buy, pool, useBrowserLab } from './lab-fixture.js';

const sql = testSql();
afterAll(() => sql.end({ timeout: 1 }));

/** Where the dashboard screenshot goes: DASHBOARD_SCREENSHOT (the README's is docs/dashboard.png) or a temp file. */
const SCREENSHOT = process.env.DASHBOARD_SCREENSHOT ?? join(tmpdir(), `stampede-dashboard-${process.pid}.png`);

interface PageFrame {
  t: number;
  queue: { ready: number; unacked: number } | null;
  workerUp: boolean;
  events: Record<string, { tiers: { name: string; remaining: number }[] }>;
}

const lastFrame = (page: Page) =>
  page.evaluate(() => {
    const s = (window as unknown as { stampede: { frames: PageFrame[] } }).stampede;
    return s.frames[s.frames.length - 1];
  });

/** Tickets left per tier name, as Postgres has them. */
async function leftInPostgres(eventId: string): Promise<Record<string, number>> {
  const rows = await sql<{ name: string; left: number }[]>`
    select name, (capacity - sold)::int as left from tiers where event_id = ${eventId} order by name`;
  return Object.fromEntries(rows.map((r) => [r.name, r.left]));
}

describe('what the lab pushes live, through nginx', () => {
  // Small batches, a small prefetch and a payment delay make a drain last a few seconds, long enough to watch.
  const t = useBrowserLab({
    rateLimitPerSecond: 5_000,
    rateLimitBurst: 5_000,
    env: { PAYMENT_LATENCY_MS: '20', WORKER_BATCH_SIZE: '10', WORKER_PREFETCH: '20' },
  });

  it('when a purchase is followed while the worker is stopped, then the stream says queued at once, and confirmed the moment the started worker decides it', async () => {
    const event = await createTestEvent(sql, [5]);
    await stopComponent(t.lab.dir, 'worker');
    const { status, body } = await buy(t.lab.base, event.id, event.tiers[0]!.id);
    expect(status).toBe(202);
    const url = `${t.lab.base}/purchases/${body.purchaseId}/events`;
    const stream = await openEventStream(url);
    try {
      expect(stream.status).toBe(200);
      expect((await stream.next(5_000))?.event).toBe('queued');
      // Nothing else while nobody decides (a comment line now and then is not an event).
      await expect(stream.next(1_500)).rejects.toThrow(/no event/);

      await startComponent(t.lab.dir, 'worker');
      const decided = await stream.next(30_000);
      expect(decided?.event).toBe('confirmed');
      expect(JSON.parse(decided!.data)).toMatchObject({ purchaseId: body.purchaseId, status: 'confirmed' });
      expect(await stream.next(5_000)).toBeUndefined();
    } finally {
      stream.close();
    }
    const rows = await sql<{ status: string }[]>`select status from purchases where id = ${body.purchaseId!}`;
    expect(rows).toEqual([{ status: 'confirmed' }]);

    // A reconnect starts from the stored state: the final one, and the stream ends.
    const again = await openEventStream(url);
    try {
      expect((await again.next(5_000))?.event).toBe('confirmed');
      expect(await again.next(5_000)).toBeUndefined();
    } finally {
      again.close();
    }
  }, 90_000);

  it('when the dashboard is open and the worker is stopped, then the queue chart grows with the backlog, when it starts, the queue drains to 0 with tickets left as Postgres has them, and a killed replica is marked gone, then back', async () => {
    const event = await createTestEvent(sql, [400, 300]);
    const page = await t.browser.newPage({ viewport: { width: 1500, height: 560 } });
    const foreign: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(t.lab.base)) foreign.push(r.url());
    });
    try {
      await page.goto(`${t.lab.base}/dashboard?event=${event.id}`);
      await waitFor(async () => (await lastFrame(page))?.workerUp || undefined, {
        timeoutMs: 15_000,
        what: 'the page to show the worker up',
      });

      await stopComponent(t.lab.dir, 'worker');
      await waitFor(async () => (await lastFrame(page))?.workerUp === false || undefined, {
        timeoutMs: 10_000,
        what: 'the page to show the worker down',
      });
      const tiers = event.tiers;
      const results = await pool(500, 10, (i) => buy(t.lab.base, event.id, tiers[i % 2]!.id));
      expect(results.filter((r) => r.status === 202)).toHaveLength(500);
      await waitFor(async () => (await page.textContent('#fig-ready')) === '500' || undefined, {
        timeoutMs: 15_000,
        what: 'the queue figure to reach 500',
      });
      // The chart has drawn it: the queue series rose from 0 to 500 over the frames it holds.
      const readies = await page.evaluate(() =>
        (window as unknown as { stampede: { frames: PageFrame[] } }).stampede.frames.map((f) => f.queue?.ready ?? 0),
      );
      expect(readies[0]).toBe(0);
      expect(Math.max(...readies)).toBe(500);
      expect(await page.getAttribute('#chart-queue', 'data-ready')).toBe('500');
      expect(Number(await page.getAttribute('#chart-queue', 'data-max'))).toBeGreaterThanOrEqual(500);

      await startComponent(t.lab.dir, 'worker');
      const drainStarted = Date.now();
      // Mid-drain, for the README: some of the backlog left, the chart already coming down.
      await waitFor(
        async () => {
          const ready = Number(await page.textContent('#fig-ready'));
          return ready <= 250 || undefined;
        },
        { timeoutMs: 20_000, intervalMs: 100, what: 'the drain to begin' },
      );
      await mkdir(dirname(SCREENSHOT), { recursive: true });
      await page.screenshot({ path: SCREENSHOT });

      await waitFor(
        async () => {
          const f = await lastFrame(page);
          return (f?.queue?.ready === 0 && f.queue.unacked === 0) || undefined;
        },
        { timeoutMs: 60_000, what: 'the queue to drain to 0' },
      );
      process.stdout.write(
        `\n[dashboard] 500 purchases drained in ${Date.now() - drainStarted} ms, as the page saw it\n`,
      );
      const expected = await leftInPostgres(event.id);
      expect(Object.values(expected).reduce((a, b) => a + b, 0)).toBe(200);
      let shown: Record<string, number> = {};
      await waitFor(
        async () => {
          const f = await lastFrame(page);
          shown = Object.fromEntries(
            (f?.events[event.id]?.tiers ?? []).map((x) => [x.name, x.remaining] as const).sort(),
          );
          return JSON.stringify(shown) === JSON.stringify(expected) ? true : undefined;
        },
        { timeoutMs: 10_000, what: `tickets left on the page to equal Postgres ${JSON.stringify(expected)}` },
      ).catch((err: Error) => {
        throw new Error(`${err.message}; the page shows ${JSON.stringify(shown)}`);
      });
      expect(await page.textContent('#fig-tickets')).toBe('200');
      const timeline = await page.textContent('#timeline');
      expect(timeline).toContain('worker stopped');
      expect(timeline).toContain('worker started');

      // A replica other than the page's own is killed: the timeline says it is gone, then back.
      const own = (await page.textContent('#conn'))?.replace('live from ', '');
      const other = (['api-1', 'api-2', 'api-3'] as const).find((n) => n !== own)!;
      await killComponent(t.lab.dir, other);
      await waitFor(async () => (await page.textContent('#timeline'))?.includes(`${other} gone`) || undefined, {
        timeoutMs: 15_000,
        what: `the timeline to say ${other} gone`,
      });
      await startComponent(t.lab.dir, other);
      await waitFor(async () => (await page.textContent('#timeline'))?.includes(`${other} back`) || undefined, {
        timeoutMs: 30_000,
        what: `the timeline to say ${other} back`,
      });
      expect(foreign).toEqual([]);
    } finally {
      await page.close();
    }
  }, 150_000);

  it('when /docs is opened, then swagger-ui renders every operation of the API from the replica alone', async () => {
    const page = await t.browser.newPage();
    const foreign: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(t.lab.base)) foreign.push(r.url());
    });
    try {
      await page.goto(`${t.lab.base}/docs`);
      await page.waitForSelector('.opblock-summary-path', { timeout: 20_000 });
      const paths = await page.$$eval('.opblock-summary-path', (els) => els.map((e) => e.getAttribute('data-path')));
      expect(paths).toEqual(expect.arrayContaining(['/events/{eventId}/purchases', '/purchases/{purchaseId}/events']));
      // Every public operation (the admin ones exist only with ADMIN_TOKEN).
      expect(paths.length).toBeGreaterThanOrEqual(10);
      expect(await page.textContent('.info .title')).toContain('Stampede API');
      expect(foreign).toEqual([]);
    } finally {
      await page.close();
    }
  }, 60_000);

  it("when a browser follows a purchase's stream with EventSource, then it hears queued, then confirmed once the worker runs", async () => {
    const event = await createTestEvent(sql, [5]);
    const page = await t.browser.newPage();
    try {
      await page.goto(`${t.lab.base}/dashboard`);
      await stopComponent(t.lab.dir, 'worker');
      const { status, body } = await buy(t.lab.base, event.id, event.tiers[0]!.id);
      expect(status).toBe(202);
      await page.evaluate((id) => {
        const heard: string[] = [];
        (window as unknown as { heard: string[] }).heard = heard;
        const es = new EventSource(`/purchases/${id}/events`);
        for (const kind of ['queued', 'confirmed', 'rejected'])
          es.addEventListener(kind, (e) => {
            heard.push(`${kind}:${JSON.parse((e as MessageEvent).data).status}`);
            if (kind !== 'queued') es.close();
          });
      }, body.purchaseId!);
      const heard = () => page.evaluate(() => (window as unknown as { heard: string[] }).heard);
      await waitFor(async () => ((await heard()).length === 1 ? true : undefined), { what: 'queued in the browser' });
      await startComponent(t.lab.dir, 'worker');
      await waitFor(async () => ((await heard()).length === 2 ? true : undefined), {
        timeoutMs: 30_000,
        what: 'the decision in the browser',
      });
      expect(await heard()).toEqual(['queued:queued', 'confirmed:confirmed']);
    } finally {
      await page.close();
    }
  }, 90_000);
});
