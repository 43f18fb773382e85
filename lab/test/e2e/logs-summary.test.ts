import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decisionsOfLine } from '@stampede/core/decision-log';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEvent, type TestEvent, testSql, waitFor } from '../../testing/fixtures.js';
import { type PrivateLab, pool, startPrivateLab } from './lab-fixture.js';

const READS = 40;
const BUYS = 30;
const CLI = fileURLToPath(new URL('../../dist/cli/logs.js', import.meta.url));
const sql = testSql();
afterAll(() => sql.end({ timeout: 1 }));

function logs(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'node',
      [CLI, ...args],
      { timeout: 30_000, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, NO_COLOR: '1' } },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${err.message}\n${stderr}`));
        else resolve(stdout);
      },
    );
  });
}

interface SummaryJson {
  http: { replicas: { replica: string; requests: number }[] };
  purchases: {
    accepted: number;
    confirmed: number;
    rejected: number;
    rejectedByReason: Record<string, number>;
    deadLettered: number;
  };
}

interface AccessLine {
  event: string;
  upstreamAddr: string;
  status: number;
}

describe('npm run logs against a real lab run', () => {
  let lab: PrivateLab;
  let event: TestEvent;
  const servedBy = new Map<string, number>();
  const accepted: { purchaseId: string; servedBy: string }[] = [];

  beforeAll(async () => {
    // The lab passes Stampede settings of the caller's environment to every component:
    // a payment step that fails now and then gives the worker rejections with a reason.
    process.env.PAYMENT_FAILURE_RATE = '0.5';
    try {
      lab = await startPrivateLab({ rateLimitPerSecond: 5_000, rateLimitBurst: 5_000 });
    } finally {
      delete process.env.PAYMENT_FAILURE_RATE;
    }
    event = await createTestEvent(sql, [20]);
    const count = (who: string | null) => servedBy.set(who ?? '?', (servedBy.get(who ?? '?') ?? 0) + 1);
    await pool(READS, 4, async () => {
      const res = await fetch(`${lab.base}/events/${event.id}/availability`);
      await res.arrayBuffer();
      count(res.headers.get('x-served-by'));
    });
    // 30 buyers for 20 tickets: the gate answers the last ones 409 before the worker sees them.
    await pool(BUYS, 4, async () => {
      const res = await fetch(`${lab.base}/events/${event.id}/purchases`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': crypto.randomUUID() },
        body: JSON.stringify({
          tierId: event.tiers[0]!.id,
          quantity: 1,
          buyerId: `buyer-${crypto.randomUUID().slice(0, 12)}`,
        }),
      });
      const body = (await res.json()) as { purchaseId?: string };
      count(res.headers.get('x-served-by'));
      if (res.status === 202)
        accepted.push({ purchaseId: body.purchaseId!, servedBy: res.headers.get('x-served-by')! });
    });
    // Drained: every accepted purchase has its row; nginx has flushed its buffered access log.
    await waitFor(
      async () => {
        const [{ n }] = await sql<
          { n: number }[]
        >`select count(*)::int as n from purchases where event_id = ${event.id}`;
        return n === accepted.length;
      },
      { timeoutMs: 30_000, what: 'the queue to drain' },
    );
    await waitFor(async () => (await accessLines()).filter((l) => l.upstreamAddr !== '').length >= READS + BUYS, {
      timeoutMs: 10_000,
      what: 'nginx to flush its access log',
    });
  }, 240_000);
  afterAll(async () => {
    await lab?.close();
  }, 60_000);

  async function accessLines(): Promise<AccessLine[]> {
    const text = await readFile(join(lab.dir, 'logs', 'nginx-access.log'), 'utf8');
    return text
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as AccessLine);
  }

  it("when the run is summarised, then confirmed and rejected match Postgres and requests per replica match nginx's access log", async () => {
    const s = JSON.parse(await logs(['summary', '--json', '--dir', lab.dir])) as SummaryJson;
    const rows = await sql<{ status: string; reason: string | null; n: number }[]>`
      select status, reason, count(*)::int as n from purchases where event_id = ${event.id} group by status, reason`;
    const db = (status: string) => rows.filter((r) => r.status === status).reduce((a, r) => a + r.n, 0);
    // Half the payments fail: with 20 or more accepted, a run without a rejection is a one-in-a-million.
    expect(accepted.length).toBeGreaterThanOrEqual(20);
    expect(db('rejected')).toBeGreaterThan(0);
    expect(s.purchases.accepted).toBe(accepted.length);
    expect(s.purchases.confirmed).toBe(db('confirmed'));
    expect(s.purchases.rejected).toBe(db('rejected'));
    expect(s.purchases.rejectedByReason).toEqual(
      Object.fromEntries(rows.filter((r) => r.status === 'rejected').map((r) => [r.reason, r.n])),
    );
    expect(s.purchases.deadLettered).toBe(0);

    const ports = lab.state.options.apiPorts;
    const byAccessLog: Record<string, number> = {};
    for (const l of await accessLines()) {
      const name = Object.entries(ports).find(([, p]) => l.upstreamAddr === `127.0.0.1:${p}`)?.[0];
      if (name) byAccessLog[name] = (byAccessLog[name] ?? 0) + 1;
    }
    const bySummary = Object.fromEntries(s.http.replicas.map((r) => [r.replica, r.requests]));
    expect(bySummary).toEqual(byAccessLog);
    // And what the clients saw in X-Served-By: the same split.
    expect(bySummary).toEqual(Object.fromEntries(servedBy));
  });

  it("when following one purchase, then exactly its lines show: accepted on its replica, nginx's POST, the worker's decision", async () => {
    const { purchaseId, servedBy: replica } = accepted[0]!;
    const lines = (await logs(['--once', '--json', '--dir', lab.dir, '--purchase', purchaseId]))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const requestId = lines.find((l) => l.event === 'purchase.accepted')?.requestId;
    expect(lines.map((l) => `${String(l.component)}:${String(l.event)}`).sort()).toEqual([
      'api:purchase.accepted',
      'nginx:http.access',
      'worker:batch.committed',
    ]);
    expect(lines.find((l) => l.component === 'api')?.instance).toBe(replica);
    const [api, nginx, worker] = ['api', 'nginx', 'worker'].map((c) => lines.find((l) => l.component === c));
    expect([api?.purchaseId, nginx?.requestId]).toEqual([purchaseId, requestId]);
    expect(nginx).toMatchObject({ method: 'POST', status: 202, requestId });
    // The batch's line, narrowed to this purchase's decision.
    const decisions = decisionsOfLine(worker);
    expect(decisions).toHaveLength(1);
    expect(decisions[0]).toMatchObject({ purchaseId, requestId, duplicate: false });
    expect(['confirmed', 'rejected']).toContain(decisions[0]!.status);
  });
});
