import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createColors } from '../src/logs/colors.js';
import { createFilter, type FilterOptions } from '../src/logs/filters.js';
import { formatPretty } from '../src/logs/format-line.js';
import { LEVELS, type LogEntry, parseLine } from '../src/logs/log-entry.js';
import { followLogs, type LogInput } from '../src/logs/read-logs.js';
import { waitFor } from '../testing/fixtures.js';
import { apiLine, batchLine, nginxLine, T0, workerLine, writeLab } from './logs-fixtures.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

async function lab(files: Record<string, string[]>) {
  const l = await writeLab(files);
  closers.push(l.close);
  return l.dir;
}

async function collect(input: LogInput, options: FilterOptions = {}): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  await followLogs(input, {
    filter: createFilter(options),
    emit: (e) => {
      out.push(e);
    },
  });
  return out;
}

const P1 = '11111111-1111-5111-8111-111111111111';
const P2 = '22222222-2222-5222-8222-222222222222';
const P3 = '33333333-3333-5333-8333-333333333333';

/** One purchase's life across nginx, api-2 and the worker, with another purchase around it. */
const story = {
  'api-1': [apiLine('api-1', 10, 'purchase.accepted', { requestId: 'req-b', purchaseId: P2 })],
  'api-2': [
    apiLine('api-2', 0, 'api.listening', { port: 3002 }),
    apiLine('api-2', 20, 'purchase.accepted', { requestId: 'req-a', purchaseId: P1 }),
    apiLine('api-2', 40, 'redis.down', { err: 'ECONNREFUSED' }, 'warn'),
  ],
  'nginx-access': [
    nginxLine(12, {
      requestId: 'req-b',
      method: 'POST',
      uri: '/events/e/purchases',
      status: 202,
      ms: 2,
      upstream: '127.0.0.1:3001',
    }),
    // The access line is written when the answer is sent, in the same millisecond as the API's line.
    nginxLine(20, {
      requestId: 'req-a',
      method: 'POST',
      uri: '/events/e/purchases',
      status: 202,
      ms: 3,
      upstream: '127.0.0.1:3002',
    }),
    nginxLine(50, {
      requestId: 'req-c',
      uri: '/events/e/availability',
      status: 502,
      ms: 9,
      upstream: '127.0.0.1:3003',
    }),
  ],
  worker: [
    // One batch decided both, and a redelivery of a third purchase.
    batchLine(30, [
      [P1, 'req-a', 'confirmed'],
      [P2, 'req-b', 'rejected', 'sold_out'],
      [P3, 'req-d', 'confirmed', null, true],
    ]),
    workerLine(45, 'purchase.dead_lettered', { messageId: P1, requestId: 'req-a', reason: 'invalid_message' }, 'error'),
  ],
};

const times = (entries: LogEntry[]) => entries.map((e) => e.time - T0);

describe("following the lab's logs", () => {
  it("when files interleave in time, then the lines come out merged in time order, each file's order kept", async () => {
    const dir = await lab(story);
    const out = await collect({ dir });
    expect(times(out)).toEqual([0, 10, 12, 20, 20, 30, 40, 45, 50]);
    expect(out.map((e) => e.name)).toEqual([
      'api-2',
      'api-1',
      'nginx',
      'api-2',
      'nginx',
      'worker',
      'api-2',
      'worker',
      'nginx',
    ]);
  });

  it("when filtering by component, then only that component's lines show (api means every replica)", async () => {
    const dir = await lab(story);
    expect(new Set((await collect({ dir }, { components: ['api'] })).map((e) => e.name))).toEqual(
      new Set(['api-1', 'api-2']),
    );
    expect((await collect({ dir }, { components: ['api-1', 'worker'] })).map((e) => e.name)).toEqual([
      'api-1',
      'worker',
      'worker',
    ]);
    expect((await collect({ dir }, { components: ['nginx'] })).every((e) => e.event === 'http.access')).toBe(true);
  });

  it('when filtering by level, then lower levels are left out and nginx 5xx counts as a warning', async () => {
    const dir = await lab(story);
    const out = await collect({ dir }, { minLevel: LEVELS.warn });
    expect(out.map((e) => e.event)).toEqual(['redis.down', 'purchase.dead_lettered', 'http.access']);
    expect((await collect({ dir }, { minLevel: LEVELS.error })).map((e) => e.event)).toEqual([
      'purchase.dead_lettered',
    ]);
  });

  it("when filtering by request id, then exactly that request's lines show across components", async () => {
    const dir = await lab(story);
    const out = await collect({ dir }, { requestIds: ['req-b'] });
    expect(out.map((e) => `${e.name} ${e.event}`)).toEqual([
      'api-1 purchase.accepted',
      'nginx http.access',
      'worker batch.committed',
    ]);
    // The batch line keeps only that request's decision, in its JSON and in the raw line --json prints.
    expect(out[2]!.json?.decisions).toEqual([[P2, 'req-b', 'rejected', 'sold_out']]);
    expect(JSON.parse(out[2]!.raw)).toMatchObject({ size: 3, decisions: [[P2, 'req-b', 'rejected', 'sold_out']] });
  });

  it("when filtering by purchase id, then its api, worker and dead-letter lines show, and nginx's line of the accepting request", async () => {
    const dir = await lab(story);
    const out = await collect({ dir }, { purchaseIds: [P1] });
    expect(out.map((e) => `${e.name} ${e.event}`)).toEqual([
      'api-2 purchase.accepted',
      'nginx http.access',
      'worker batch.committed',
      'worker purchase.dead_lettered',
    ]);
    expect(out[1]!.json?.requestId).toBe('req-a');
    expect(out[2]!.json?.decisions).toEqual([[P1, 'req-a', 'confirmed']]);
  });

  it("when a purchase's only worker line is a batch line, then its id finds that line with its decision, and the request id on it finds nginx's line", async () => {
    // No API line: the request id can be learned from the batch's decision alone.
    const dir = await lab({
      'nginx-access': story['nginx-access'],
      worker: [
        batchLine(30, [
          [P1, 'req-a', 'confirmed'],
          [P3, 'req-d', 'confirmed', null, true],
        ]),
      ],
    });
    const out = await collect({ dir }, { purchaseIds: [P3] });
    expect(out.map((e) => `${e.name} ${e.event}`)).toEqual(['worker batch.committed']);
    expect(out[0]!.json?.decisions).toEqual([[P3, 'req-d', 'confirmed', null, true]]);
    const byPurchase = await collect({ dir }, { purchaseIds: [P1] });
    expect(byPurchase.map((e) => `${e.name} ${e.event}`)).toEqual(['nginx http.access', 'worker batch.committed']);
    expect(byPurchase[0]!.json?.requestId).toBe('req-a');
    expect(byPurchase[1]!.json?.decisions).toEqual([[P1, 'req-a', 'confirmed']]);
    const byRequest = await collect({ dir }, { requestIds: ['req-d'] });
    expect(byRequest.map((e) => e.json?.decisions)).toEqual([[[P3, 'req-d', 'confirmed', null, true]]]);
    expect(await collect({ dir }, { purchaseIds: [P2] })).toEqual([]);
  });

  it('when a batch line is printed for a person, then a few decisions show as words and the rest as a count', async () => {
    const decisions: unknown[][] = Array.from({ length: 500 }, (_, k) => [`p-${k}`, `r-${k}`, 'confirmed']);
    decisions[1] = ['p-1', 'r-1', 'rejected', 'sold_out'];
    decisions[2] = ['p-2', null, 'confirmed', null, true];
    const line = formatPretty(parseLine(batchLine(30, decisions), 'worker'), createColors(false));
    expect(line).toContain(
      'decisions=[p-0 r-0 confirmed, p-1 r-1 rejected sold_out, p-2 confirmed duplicate] …+497 (--json or --purchase for all)',
    );
    expect(line).not.toContain('p-3 ');
  });

  it('when a time window is given, then only lines inside it show', async () => {
    const dir = await lab(story);
    expect(times(await collect({ dir }, { since: T0 + 20, until: T0 + 31 }))).toEqual([20, 20, 30]);
  });

  it('when lines are malformed or not JSON, then they are passed through unfiltered and never stop the reading', async () => {
    const dir = await lab({
      'api-1': [
        apiLine('api-1', 10, 'a.one'),
        '{"level":"info","time":"2026-11',
        'TypeError: boom',
        '    at x (file.js:1:1)',
        apiLine('api-1', 30, 'a.two'),
      ],
      'nginx-error': ['2026/11/22 10:00:00 [warn] 12#0: *1 an upstream response is buffered'],
    });
    const out = await collect({ dir });
    expect(out.map((e) => e.event ?? e.raw)).toEqual([
      '2026/11/22 10:00:00 [warn] 12#0: *1 an upstream response is buffered',
      'a.one',
      '{"level":"info","time":"2026-11',
      'TypeError: boom',
      '    at x (file.js:1:1)',
      'a.two',
    ]);
    expect(out.filter((e) => e.malformed)).toHaveLength(1);
    // A line without a time stays with the line before it.
    expect(out.find((e) => e.raw === 'TypeError: boom')!.time).toBe(T0 + 10);
    expect(await collect({ dir }, { requestIds: ['x'] })).toEqual([]);
  });

  it('when lines are piped from docker compose logs, then the service prefixes are stripped and the lines put in time order', async () => {
    const text = [
      `api-2-1  | ${apiLine('api-2', 20, 'purchase.accepted', { requestId: 'req-a', purchaseId: P1 })}`,
      `ticket-worker  | ${batchLine(30, [[P1, 'req-a', 'confirmed']])}`,
      `nginx-1  | ${nginxLine(21, { requestId: 'req-a', method: 'POST', uri: '/events/e/purchases', status: 202, ms: 3, upstream: '172.18.0.5:3000' })}`,
      `api-1-1  | 2026-11-22T10:00:00.005000000Z ${apiLine('api-1', 5, 'api.listening')}`,
      'postgres-1  | 2026-11-22 10:00:00.000 UTC [1] LOG:  database system is ready',
    ].join('\n');
    const out = await collect({ stream: Readable.from([text]) }, { purchaseIds: [P1] });
    expect(out.map((e) => `${e.source} ${e.event}`)).toEqual([
      'api-2-1 purchase.accepted',
      'nginx-1 http.access',
      'ticket-worker batch.committed',
    ]);
    const all = await collect({ stream: Readable.from([text]) });
    // Postgres' line has no JSON time: it keeps the time of the line before it in the stream.
    expect(all.map((e) => `${e.source} ${e.event ?? 'plain'}`)).toEqual([
      'api-1-1 api.listening',
      'postgres-1 plain',
      'api-2-1 purchase.accepted',
      'nginx-1 http.access',
      'ticket-worker batch.committed',
    ]);
    expect(all[0]!.raw.startsWith('{')).toBe(true);
  });

  it('when a piped stream pauses, then the lines held for ordering are shown without waiting for more', async () => {
    const live = new PassThrough();
    const out: LogEntry[] = [];
    const done = followLogs(
      { stream: live },
      {
        filter: createFilter({}),
        emit: (e) => {
          out.push(e);
        },
      },
    );
    live.write(`api-1-1  | ${apiLine('api-1', 20, 'second')}\napi-2-1  | ${apiLine('api-2', 10, 'first')}\n`);
    await waitFor(() => out.length === 2, { timeoutMs: 5_000, what: 'the held lines' });
    expect(out.map((e) => e.event)).toEqual(['first', 'second']);
    live.end();
    await done;
  });

  it('when following, then lines appended to the files later are printed as they come, in time order', async () => {
    const dir = await lab({ 'api-1': [apiLine('api-1', 0, 'old.line')], worker: [] });
    const out: LogEntry[] = [];
    const abort = new AbortController();
    // The follower awaits emit before it polls again: holding the marker's emit lets the
    // test append to two files between two polls, as a busy lab does, on a loaded machine too.
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    const done = followLogs(
      { dir },
      {
        filter: createFilter({ purchaseIds: [P1] }),
        emit: async (e) => {
          out.push(e);
          if (e.event === 'follow.marker') await held;
        },
        follow: true,
        signal: abort.signal,
        pollMs: 20,
      },
    );
    try {
      await appendFile(join(dir, 'logs', 'api-1.log'), `${apiLine('api-1', 5, 'follow.marker', { purchaseId: P1 })}\n`);
      await waitFor(() => out.length === 1, { timeoutMs: 5_000, what: 'the marker' });
      await appendFile(join(dir, 'logs', 'worker.log'), `${batchLine(30, [[P1, 'req-a', 'confirmed']])}\n`);
      await appendFile(
        join(dir, 'logs', 'api-1.log'),
        `${apiLine('api-1', 20, 'purchase.accepted', { purchaseId: P1, requestId: 'req-a' })}\n${apiLine('api-1', 21, 'other')}\n${apiLine('api-1', 40, 'purchase.read', { purchaseId: P1 })}\n`,
      );
      release();
      // A file that appears after the start (nginx started later) is followed too; half a line waits for its end.
      const late = nginxLine(22, {
        requestId: 'req-a',
        method: 'POST',
        uri: '/events/e/purchases',
        status: 202,
        ms: 2,
        upstream: '127.0.0.1:3001',
      });
      await appendFile(join(dir, 'logs', 'nginx-access.log'), late.slice(0, 40));
      await waitFor(() => out.length >= 4, { timeoutMs: 5_000, what: 'the appended lines' });
      await appendFile(join(dir, 'logs', 'nginx-access.log'), `${late.slice(40)}\n`);
      await waitFor(() => out.length >= 5, { timeoutMs: 5_000, what: 'the completed nginx line' });
    } finally {
      release();
      abort.abort();
      await done;
    }
    // One poll's lines in time order across files (api-1.log is read before worker.log).
    expect(out.map((e) => e.event)).toEqual([
      'follow.marker',
      'purchase.accepted',
      'batch.committed',
      'purchase.read',
      'http.access',
    ]);
  });
});
