import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createColors } from '../src/logs/colors.js';
import { createFilter } from '../src/logs/filters.js';
import { summarizeLogs } from '../src/logs/read-logs.js';
import { formatSummary } from '../src/logs/summary-report.js';
import { type Access, apiLine, batchLine, nginxLine, T0, workerLine, writeLab } from './logs-fixtures.js';

const CLI = fileURLToPath(new URL('../dist/cli/logs.js', import.meta.url));
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

const EVENT = '3a5c58f3-05a6-477c-afec-0e4277d62780';
const pid = (k: number) => `00000000-0000-5000-8000-${String(k).padStart(12, '0')}`;

/**
 * A small sale with known numbers. Replicas at `addr(1..3)`. 100 reads with request times
 * 1..100 ms, spread 40/40/20; 11 purchases accepted (5 on api-1, 4 on api-2, 2 on api-3),
 * 3 sold out (409) and one 503 from the replicas, 2 rate limited (429) by nginx itself, and
 * one read that nginx passed from api-2 (502) to api-1. The worker confirms 7, rejects 3
 * (2 sold_out, 1 limit_exceeded), answers one redelivery from the row, dead-letters one.
 */
function scenario(addr: (replica: number) => string) {
  const nginx: string[] = [];
  const api: Record<string, string[]> = { 'api-1': [], 'api-2': [], 'api-3': [] };
  const access = (at: number, a: Access) => nginx.push(nginxLine(at, a));
  for (let i = 1; i <= 100; i += 1) {
    const replica = i % 5 < 2 ? 1 : i % 5 < 4 ? 2 : 3;
    access(i * 100, { uri: `/events/${EVENT}/availability?x=${i}`, status: 200, ms: i, upstream: addr(replica) });
  }
  for (let k = 0; k <= 10; k += 1) {
    const replica = k < 5 ? 1 : k < 9 ? 2 : 3;
    const at = 1000 + k * 100 + 50;
    api[`api-${replica}`]!.push(
      apiLine(`api-${replica}`, at, 'purchase.accepted', {
        requestId: `p-${k}`,
        purchaseId: pid(k),
        quantity: 1,
        gated: true,
        confirmMs: 2,
      }),
    );
    access(at + 1, {
      requestId: `p-${k}`,
      method: 'POST',
      uri: `/events/${EVENT}/purchases`,
      status: 202,
      ms: 5,
      upstream: addr(replica),
    });
  }
  for (let j = 0; j < 3; j += 1)
    access(2100 + j, { method: 'POST', uri: `/events/${EVENT}/purchases`, status: 409, ms: 1, upstream: addr(3) });
  for (let j = 0; j < 2; j += 1)
    access(2200 + j, { method: 'POST', uri: `/events/${EVENT}/purchases`, status: 429, ms: 0, upstream: '' });
  api['api-2']!.push(
    apiLine('api-2', 2300, 'purchase.publish_failed', { requestId: 'p-x', purchaseId: pid(99) }, 'warn'),
  );
  api['api-2']!.push(
    apiLine('api-2', 2300, 'request.failed', { requestId: 'p-x', code: 'broker_unavailable' }, 'warn'),
  );
  api['api-2']!.push('Error: a stack trace on stderr');
  access(2301, {
    requestId: 'p-x',
    method: 'POST',
    uri: `/events/${EVENT}/purchases`,
    status: 503,
    ms: 300,
    upstream: addr(2),
  });
  access(2400, {
    uri: `/purchases/${pid(1)}`,
    status: 200,
    ms: 6,
    upstream: `${addr(2)}, ${addr(1)}`,
    upstreamStatus: '502, 200',
    upstreamMs: '0.001, 0.004',
  });
  nginx.sort((a, b) => (JSON.parse(a) as { msec: number }).msec - (JSON.parse(b) as { msec: number }).msec);

  // The worker's batch lines name each purchase's decision: [purchaseId, requestId, status, reason, duplicate].
  const decided = (k: number, status: string, reason?: string, duplicate = false) =>
    duplicate
      ? [pid(k), `p-${k}`, status, reason ?? null, true]
      : [pid(k), `p-${k}`, status, ...(reason ? [reason] : [])];
  const worker = [
    batchLine(
      3001,
      [0, 1, 2, 3, 4].map((k) => decided(k, 'confirmed')),
      { confirmed: 5, rejected: 0, duplicates: 0, poison: 0 },
    ),
    '{"level":"info","time":"2026-11-22T10:00:04',
    workerLine(
      6000,
      'purchase.dead_lettered',
      { messageId: pid(10), requestId: 'p-10', reason: 'processing_failed', attempt: 5 },
      'error',
    ),
    batchLine(
      6001,
      [
        decided(0, 'confirmed', undefined, true),
        ...[5, 6].map((k) => decided(k, 'confirmed')),
        ...[7, 8].map((k) => decided(k, 'rejected', 'sold_out')),
        decided(9, 'rejected', 'limit_exceeded'),
      ],
      { size: 7, confirmed: 2, rejected: 3, duplicates: 1, poison: 1 },
    ),
  ];
  return { ...api, 'nginx-access': nginx, worker };
}

const localAddr = (r: number) => `127.0.0.1:${3000 + r}`;

async function labWith(files: Record<string, string[]>, ports?: Record<string, number>) {
  const l = await writeLab(files, ports);
  closers.push(l.close);
  return l.dir;
}

describe('the logs summary', () => {
  it('when a run is summarised, then replicas, statuses, route latencies and purchases have the known counts', async () => {
    const dir = await labWith(scenario(localAddr), { 'api-1': 3001, 'api-2': 3002, 'api-3': 3003 });
    const s = await summarizeLogs({ dir });

    expect(s.http.requests).toBe(118);
    expect(s.http.withoutUpstream).toBe(2);
    expect(s.http.replicas.map((r) => [r.replica, r.address, r.requests, r.failedAttempts])).toEqual([
      ['api-1', '127.0.0.1:3001', 46, 0],
      ['api-2', '127.0.0.1:3002', 45, 1],
      ['api-3', '127.0.0.1:3003', 25, 0],
    ]);
    expect(s.http.balance).toEqual({ verdict: 'uneven', maxOverMin: 1.84 });
    expect(s.http.statuses).toEqual({ 200: 101, 202: 11, 409: 3, 429: 2, 503: 1 });

    const reads = s.http.routes.find((r) => r.route === '/events/:id/availability')!;
    expect(reads.method).toBe('GET');
    expect(reads.count).toBe(100);
    for (const [p, want] of [
      [reads.p50, 50],
      [reads.p95, 95],
      [reads.p99, 99],
    ] as const) {
      expect(p).toBeGreaterThanOrEqual(want);
      expect(p).toBeLessThanOrEqual(want * 1.02);
    }
    expect(reads.max).toBe(100);
    const buys = s.http.routes.find((r) => r.route === '/events/:id/purchases')!;
    expect(buys.statuses).toEqual({ 202: 11, 409: 3, 429: 2, 503: 1 });
    expect(s.http.routes.find((r) => r.route === '/purchases/:id')?.count).toBe(1);

    expect(s.purchases).toMatchObject({
      accepted: 11,
      confirmed: 7,
      rejected: 3,
      rejectedByReason: { sold_out: 2, limit_exceeded: 1 },
      duplicates: 1,
      deadLettered: 1,
      deadLetteredByReason: { processing_failed: 1 },
      publishFailed: 1,
      decidedFrom: 'decisions',
    });
    expect(s.notYetDecided).toBe(0);
    expect(s.cache.source).toBe('unknown');
  });

  it('when lines are malformed or not JSON, then they are counted and skipped', async () => {
    const s = await summarizeLogs({ dir: await labWith(scenario(localAddr)) });
    expect(s.lines.malformed).toBe(1);
    expect(s.lines.notJson).toEqual({ 'api-2': 1 });
    expect(s.purchases.accepted).toBe(11);
  });

  it('when the backlog rises and drains, then the timeline shows it per second', async () => {
    const s = await summarizeLogs({ dir: await labWith(scenario(localAddr)) });
    expect(s.timeline.bucketSeconds).toBe(1);
    expect(s.timeline.depthFrom).toBe('estimate');
    const b = s.timeline.buckets;
    expect(b[0]!.start).toBe(new Date(T0).toISOString());
    expect(b.slice(0, 8).map((x) => x.backlogEstimate)).toEqual([0, 10, 11, 6, 6, 6, 0, 0]);
    expect(b.slice(0, 8).map((x) => x.drainPerSecond)).toEqual([0, 0, 0, 5, 0, 0, 7, 0]);
    expect(b[1]!.accepted).toBe(10);
  });

  it('when warnings and errors are logged, then they are grouped by event and code', async () => {
    const s = await summarizeLogs({ dir: await labWith(scenario(localAddr)) });
    expect(Object.fromEntries(s.errors.map((e) => [e.key, [e.level, e.count]]))).toEqual({
      'purchase.publish_failed': ['warn', 1],
      'request.failed broker_unavailable': ['warn', 1],
      'http 503 POST /events/:id/purchases': ['warn', 1],
      'purchase.dead_lettered processing_failed': ['error', 1],
    });
  });

  it('when a window is given, then only its lines count', async () => {
    const s = await summarizeLogs({ dir: await labWith(scenario(localAddr)) }, { since: T0 + 5000 });
    expect(s.purchases).toMatchObject({ accepted: 0, confirmed: 2, rejected: 3, deadLettered: 1 });
    expect(s.http.requests).toBe(51);
  });

  it("when summarised for one purchase, then only that purchase's decision inside its batch line counts", async () => {
    const dir = await labWith(scenario(localAddr));
    const s = await summarizeLogs({ dir }, { filter: createFilter({ purchaseIds: [pid(7)] }) });
    expect(s.purchases).toMatchObject({
      accepted: 1,
      confirmed: 0,
      rejected: 1,
      rejectedByReason: { sold_out: 1 },
      duplicates: 0,
      decidedFrom: 'decisions',
    });
  });

  it('when decisions come as one line each (sync mode, an older worker) or as batch totals only, then both are still counted', async () => {
    const perLine = await summarizeLogs({
      dir: await labWith({
        'api-1': [
          apiLine('api-1', 10, 'purchase.decided', { purchaseId: pid(1), status: 'confirmed', duplicate: false }),
          apiLine('api-1', 11, 'purchase.decided', {
            purchaseId: pid(2),
            status: 'rejected',
            reason: 'sold_out',
            duplicate: false,
          }),
          apiLine('api-1', 12, 'purchase.decided', { purchaseId: pid(1), status: 'confirmed', duplicate: true }),
        ],
      }),
    });
    expect(perLine.purchases).toMatchObject({
      confirmed: 1,
      rejected: 1,
      rejectedByReason: { sold_out: 1 },
      duplicates: 1,
      decidedFrom: 'decisions',
    });
    const totals = await summarizeLogs({
      dir: await labWith({
        worker: [workerLine(10, 'batch.committed', { size: 4, confirmed: 2, rejected: 1, duplicates: 1, poison: 0 })],
      }),
    });
    expect(totals.purchases).toMatchObject({ confirmed: 2, rejected: 1, duplicates: 1, decidedFrom: 'batch-totals' });
  });

  it('when docker compose output is piped, then replicas are named from the request ids they share with the API', async () => {
    const docker = (r: number) => `172.18.0.${r + 4}:3000`;
    const files = scenario(docker);
    const prefixed = Object.entries(files).flatMap(([name, lines]) =>
      lines.map(
        (l) => `${name === 'nginx-access' ? 'nginx-1' : name === 'worker' ? 'ticket-worker' : `${name}-1`}  | ${l}`,
      ),
    );
    const s = await summarizeLogs({ stream: Readable.from([prefixed.join('\n')]) });
    expect(s.http.replicas.map((r) => [r.replica, r.requests])).toEqual([
      ['api-1', 46],
      ['api-2', 45],
      ['api-3', 25],
    ]);
    expect(s.purchases).toMatchObject({ accepted: 11, confirmed: 7, rejected: 3, deadLettered: 1 });
  });

  it('when printed, then the report names the figures and draws the backlog', async () => {
    const s = await summarizeLogs({
      dir: await labWith(scenario(localAddr), { 'api-1': 3001, 'api-2': 3002, 'api-3': 3003 }),
    });
    const text = formatSummary(s, createColors(false));
    expect(text).toMatch(/balance: uneven \(max\/min 1\.84\)/);
    expect(text).toMatch(/api-1 127\.0\.0\.1:3001\s+46\s+40%/);
    expect(text).toMatch(
      /accepted 11 · confirmed 7 · rejected 3 \((sold_out ×2, limit_exceeded ×1)\) · dead-lettered 1 \(processing_failed ×1\)/,
    );
    expect(text).toMatch(/backlog est\. \(accepted−decided\) [▁-█]+/);
    expect(text).toContain('hit ratio unknown');
    expect(text).not.toContain('\u001b[');
  });
});

function run(args: string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      'node',
      [CLI, ...args],
      { timeout: 20_000, env: { ...process.env, NO_COLOR: '1' } },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
      },
    );
    child.stdin?.end(stdin ?? '');
  });
}

describe('npm run logs, as a real process', () => {
  it('when run on a lab folder and on piped lines, then both give the same summary, and follow --purchase finds its lines', async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npx tsc -b first`);
    const files = scenario(localAddr);
    const dir = await labWith(files);
    const fromDir = await run(['summary', '--json', '--dir', dir]);
    expect(fromDir.stderr).toBe('');
    const piped = await run(['summary', '--json', '-'], Object.values(files).flat().join('\n'));
    const a = JSON.parse(fromDir.stdout) as { purchases: unknown; http: { statuses: unknown } };
    const b = JSON.parse(piped.stdout) as typeof a;
    expect(b.purchases).toEqual(a.purchases);
    expect(b.http.statuses).toEqual(a.http.statuses);

    const follow = await run(['--once', '--json', '--dir', dir, '--purchase', pid(7)]);
    expect(follow.code).toBe(0);
    expect(
      follow.stdout
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { event: string }).event),
    ).toEqual(['purchase.accepted', 'http.access', 'batch.committed']);
    const bad = await run(['--level', 'loud', '--dir', dir]);
    expect(bad.code).toBe(2); // a usage error
    expect(bad.stderr).toMatch(/--level must be one of/);
  });
});
