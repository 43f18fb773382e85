import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recentLogs } from '../../src/local-lab/component-logs.js';
import { killComponent, startComponent, startLab, stopComponent, stopLab } from '../../src/local-lab/lab.js';
import { COMPONENTS } from '../../src/local-lab/lab-options.js';
import { readRunRecord } from '../../src/local-lab/lab-state.js';
import { isAlive } from '../../src/local-lab/processes.js';
import { labStatus } from '../../src/local-lab/status.js';
import { createTestEvent, testSql, waitFor } from '../../testing/fixtures.js';
import { rawHttp } from '../../testing/raw-http.js';
import { buy, type PrivateLab, pool, startPrivateLab } from './lab-fixture.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const sql = testSql();
afterAll(() => sql.end({ timeout: 1 }));

async function getThrough(base: string, path: string) {
  const res = await fetch(`${base}${path}`);
  await res.arrayBuffer();
  return { status: res.status, servedBy: res.headers.get('x-served-by') };
}

/** Purchases of an event as Postgres decided them: status → count. */
async function decided(eventId: string): Promise<Record<string, number>> {
  const rows = await sql<{ status: string; n: number }[]>`
    select status, count(*)::int as n from purchases where event_id = ${eventId} group by status`;
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

/**
 * `npm run lab -- <args>` (the compiled CLI) on a lab directory. Asynchronous, so the
 * test's own keep-alive connections see nginx close them while the command runs.
 */
function labCli(dir: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['lab/dist/cli/lab.js', ...args, '--dir', dir],
      { cwd: ROOT, timeout: 60_000 },
      (err, _out, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stderr }),
    );
  });
}

const statusExitCode = async (dir: string) => (await labCli(dir, ['status'])).code;

const queueOf = async (lab: PrivateLab) => (await labStatus(lab.dir)).queues[0]!;

/** The replicas' total deadline for a request to arrive, short so the slow client below is cut soon. */
const REQUEST_TIMEOUT_MS = 4_000;

describe('the local lab, end to end through nginx', () => {
  let lab: PrivateLab;
  // Rate limit well above the bursts below: these tests are about the queue, not the edge.
  beforeAll(async () => {
    lab = await startPrivateLab({
      rateLimitPerSecond: 5_000,
      rateLimitBurst: 5_000,
      env: { HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS) },
    });
  }, 180_000);
  afterAll(async () => {
    await lab?.close();
  }, 60_000);

  it('when the lab is up, then every component is up and a second `up` is refused', async () => {
    const status = await labStatus(lab.dir);
    expect(status.components.map((c) => [c.name, c.condition])).toEqual(COMPONENTS.map((n) => [n, 'up']));
    expect(status.queues.map((q) => q.messages)).toEqual([0, 0]);
    await expect(startLab({ dir: lab.dir, nginxPort: lab.state.options.nginxPort })).rejects.toThrow(/already running/);
    expect((await labStatus(lab.dir)).components.every((c) => c.condition === 'up')).toBe(true);
  });

  it('when reads go through nginx, then all three replicas serve them', async () => {
    const event = await createTestEvent(sql, [100]);
    const results = await pool(300, 12, () => getThrough(lab.base, `/events/${event.id}/availability`));
    expect(results.every((r) => r.status === 200)).toBe(true);
    const perReplica = new Map<string, number>();
    for (const r of results) perReplica.set(r.servedBy ?? '?', (perReplica.get(r.servedBy ?? '?') ?? 0) + 1);
    expect([...perReplica.keys()].sort()).toEqual(['api-1', 'api-2', 'api-3']);
  });

  it('when api-2 is killed mid-load, then no GET fails, and it can be started again', async () => {
    const event = await createTestEvent(sql, [100]);
    let done = 0;
    // Enough reads that the load outlasts the kill: with the L1, reads are fast.
    const load = pool(3000, 10, async () => {
      const r = await getThrough(lab.base, `/events/${event.id}/availability`);
      done += 1;
      return r;
    });
    await waitFor(() => done >= 100, { what: 'the first hundred reads' });
    await killComponent(lab.dir, 'api-2');
    const doneAtKill = done;
    const results = await load;
    expect(results.filter((r) => r.status !== 200)).toEqual([]);
    // The kill really fell in the middle of the load, on a replica that was serving it.
    expect(doneAtKill).toBeLessThan(2900);
    expect(results.slice(0, 100).some((r) => r.servedBy === 'api-2')).toBe(true);
    expect((await labStatus(lab.dir)).components.find((c) => c.name === 'api-2')?.condition).toBe('killed');

    await startComponent(lab.dir, 'api-2');
    expect((await labStatus(lab.dir)).components.find((c) => c.name === 'api-2')?.condition).toBe('up');
  });

  it('when a component dies on its own, then status reports it DIED with how it ended', async () => {
    const pid = (await readRunRecord(lab.dir, 'api-3'))!.pid!;
    process.kill(pid, 'SIGKILL');
    const api3 = await waitFor(
      async () => {
        const c = (await labStatus(lab.dir)).components.find((x) => x.name === 'api-3')!;
        return c.condition === 'died' ? c : undefined;
      },
      { what: 'api-3 reported dead' },
    );
    expect(api3.label).toBe('DIED (signal SIGKILL)');
    expect(await statusExitCode(lab.dir)).toBe(1);
    await startComponent(lab.dir, 'api-3');
    expect(await statusExitCode(lab.dir)).toBe(0);
  });

  it('when a burst of purchases arrives, then every one is accepted with 202 and decided in Postgres', async () => {
    const event = await createTestEvent(sql, [1_000]);
    const tier = event.tiers[0]!;
    const results = await pool(200, 25, () => buy(lab.base, event.id, tier.id, 2));
    expect(results.filter((r) => r.status !== 202)).toEqual([]);

    const final = await waitFor(
      async () => {
        const d = await decided(event.id);
        return (d.confirmed ?? 0) + (d.rejected ?? 0) === 200 ? d : undefined;
      },
      { timeoutMs: 60_000, what: 'every purchase decided' },
    );
    expect(final).toEqual({ confirmed: 200 });
    const [{ sold }] = await sql<{ sold: number }[]>`select sold from tiers where id = ${tier.id}`;
    expect(sold).toBe(400);
    const sample = await fetch(`${lab.base}/purchases/${results[0]!.body.purchaseId}`).then((r) => r.json());
    expect(sample.status).toBe('confirmed');
  }, 120_000);

  it('when the worker is stopped, then purchases are still accepted and queue up; when it starts, the queue drains and every purchase is final', async () => {
    const event = await createTestEvent(sql, [1_000]);
    const tier = event.tiers[0]!;
    await stopComponent(lab.dir, 'worker');
    expect((await labStatus(lab.dir)).components.find((c) => c.name === 'worker')?.condition).toBe('stopped');

    const results = await pool(120, 20, () => buy(lab.base, event.id, tier.id, 1));
    expect(results.filter((r) => r.status !== 202)).toEqual([]);
    const backlog = await waitFor(
      async () => {
        const q = await queueOf(lab);
        return (q.messages ?? 0) >= 120 ? q : undefined;
      },
      { what: 'the backlog' },
    );
    expect(backlog.messages).toBe(120);
    expect(backlog.consumers).toBe(0);
    expect(await decided(event.id)).toEqual({});
    const queued = await fetch(`${lab.base}/purchases/${results[0]!.body.purchaseId}`).then((r) => r.json());
    expect(queued.status).toBe('queued');

    await startComponent(lab.dir, 'worker');
    await waitFor(async () => (await queueOf(lab)).messages === 0, { timeoutMs: 60_000, what: 'the queue drained' });
    const final = await waitFor(
      async () => {
        const d = await decided(event.id);
        return (d.confirmed ?? 0) + (d.rejected ?? 0) === 120 ? d : undefined;
      },
      { timeoutMs: 30_000, what: 'every purchase final' },
    );
    expect(final).toEqual({ confirmed: 120 });
    const status = await labStatus(lab.dir);
    expect(status.queues.map((q) => q.messages)).toEqual([0, 0]);
    expect(status.components.find((c) => c.name === 'worker')?.condition).toBe('up');
  }, 120_000);

  it('when `restart nginx` is given a rate limit, then nginx comes back with it; `start` of a running component with new settings is refused', async () => {
    const event = await createTestEvent(sql, [1_000]);
    const tier = event.tiers[0]!;
    const statuses = async () => (await pool(12, 12, () => buy(lab.base, event.id, tier.id))).map((r) => r.status);

    expect((await labCli(lab.dir, ['restart', 'nginx', '--rate-limit', '1', '--rate-burst', '1'])).code).toBe(0);
    const limited = await statuses();
    expect(limited.filter((s) => s === 429).length).toBeGreaterThanOrEqual(8);

    const refused = await labCli(lab.dir, ['start', 'nginx', '--rate-limit', '5000']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('nginx is already running; `restart nginx` starts it with the new settings');
    expect((await labCli(lab.dir, ['restart', 'nginx', '--rate-limit', '5000', '--rate-burst', '5000'])).code).toBe(0);
    expect(await statuses()).toEqual(Array(12).fill(202));
  }, 120_000);

  it('when a purchase body trickles in through nginx a byte at a time, then it is cut off at the total deadline and nothing is bought', async () => {
    const event = await createTestEvent(sql, [10]);
    const body = JSON.stringify({ tierId: event.tiers[0]!.id, quantity: 1, buyerId: 'slow-loris' });
    const head = [
      `POST /events/${event.id}/purchases HTTP/1.1`,
      'Host: localhost',
      'Content-Type: application/json',
      `Idempotency-Key: ${randomUUID()}`,
      `Content-Length: ${body.length}`,
      '',
      '',
    ].join('\r\n');
    // A byte every 500 ms: every read is well inside nginx's 10 s body timeout; the body would take ~40 s.
    const res = await rawHttp(lab.state.options.nginxPort, [head, ...body.split('')], {
      everyMs: 500,
      timeoutMs: 30_000,
    });
    expect(res.ms).toBeLessThan(REQUEST_TIMEOUT_MS + 4_000);
    expect(res.status).toBe(408);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(JSON.parse(res.body)).toMatchObject({ status: 408, code: 'request_timeout' });
    expect(await decided(event.id)).toEqual({});
    const redis = new Redis(lab.config.REDIS_URL);
    try {
      expect(await redis.keys(`${lab.config.REDIS_KEY_PREFIX}buyer:${event.id}:*`)).toEqual([]);
    } finally {
      redis.disconnect();
    }
  });

  it('when /metrics is asked through the front door, then it is refused, while each replica and the worker still serve it on their own port', async () => {
    const front = await fetch(`${lab.base}/metrics`);
    expect(front.status).toBe(403);
    expect(front.headers.get('content-type')).toBe('application/problem+json');
    for (const port of [...Object.values(lab.state.options.apiPorts), lab.state.options.workerPort]) {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('# HELP');
    }
  });

  it('when the logs are read, then lines of every component, nginx access log included, come merged', async () => {
    const sources = new Set((await recentLogs(lab.dir, undefined, 5_000)).map((l) => l.source));
    for (const s of ['worker', 'api-1', 'api-2', 'api-3', 'nginx-access']) expect(sources).toContain(s);
  });

  it('when the lab is torn down, then no process is left and a second down is a no-op', async () => {
    const records = await Promise.all(COMPONENTS.map((n) => readRunRecord(lab.dir, n)));
    const pids = records.flatMap((r) => (r ? [r.pid!, r.watcherPid] : []));
    expect(pids.length).toBe(2 * COMPONENTS.length);
    const stopped = await stopLab(lab.dir);
    expect([...stopped].sort()).toEqual([...COMPONENTS].sort());
    expect(pids.filter(isAlive)).toEqual([]);
    expect(await stopLab(lab.dir)).toEqual([]);
  }, 60_000);
});
