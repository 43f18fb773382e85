import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ERROR_CATALOGUE } from '@stampede/core/errors';
import { waitFor } from '@stampede/lab/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupList, type Seen, startFakeReplica, startNginx } from './support/nginx-harness.js';

const cleanup = cleanupList();
afterEach(() => cleanup.run());

/** nginx in front of two fake replicas, every process registered for cleanup. */
async function edge(limits: { rateLimitPerSecond?: number; rateLimitBurst?: number; edgeCache?: boolean } = {}) {
  const a = cleanup.add(await startFakeReplica('a'));
  const b = cleanup.add(await startFakeReplica('b'));
  const nginx = cleanup.add(await startNginx({ upstreams: [a.address, b.address], ...limits }));
  return { a, b, nginx };
}

const servedBy = async (res: Response) => ((await res.json()) as { servedBy: string }).servedBy;

async function expectProblem(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  const body = (await res.json()) as Record<string, unknown>;
  expect(body).toMatchObject({ status, code, type: `https://stampede.dev/problems/${code.replaceAll('_', '-')}` });
  expect(body.requestId).toBe(res.headers.get('x-request-id'));
  return body;
}

describe('nginx edge in front of two replicas', () => {
  it('when reads arrive one after another, then both replicas serve a fair share', async () => {
    const { nginx } = await edge();
    const counts: Record<string, number> = {};
    for (let i = 0; i < 20; i++) {
      const who = await servedBy(await fetch(`${nginx.url}/events/e1/availability`));
      counts[who] = (counts[who] ?? 0) + 1;
    }
    expect(counts.a).toBeGreaterThanOrEqual(5);
    expect(counts.b).toBeGreaterThanOrEqual(5);
  });

  it('when a replica is stopped, then no GET fails: each is retried on the other', async () => {
    const { a, b, nginx } = await edge();
    await a.stop();
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await fetch(`${nginx.url}/events/e1/availability`)).status);
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(b.seen.length).toBe(10);
    // the retry really happened: one request names both replicas in the access log
    const lines = await waitFor(
      async () => {
        const all = await nginx.accessLines();
        return all.length >= 10 ? all : undefined;
      },
      { what: 'access log' },
    );
    expect(lines.some((l) => l.upstreamAddr === `${a.address}, ${b.address}`)).toBe(true);
  });

  it('when a replica drops a GET it received, then the GET is answered by the other', async () => {
    const { a, b, nginx } = await edge();
    a.crashOn.add('GET');
    for (let i = 0; i < 6; i++) expect((await fetch(`${nginx.url}/events/e1/availability`)).status).toBe(200);
    expect(a.seen.length).toBeGreaterThanOrEqual(1);
    expect(b.seen.length).toBe(6);
  });

  it('when every replica drops a GET once, then nginx places the read once more and it is answered', async () => {
    const { a, b, nginx } = await edge();
    a.dropNext = 1;
    b.dropNext = 1;
    const res = await fetch(`${nginx.url}/events/e1/availability`, { headers: { 'x-request-id': 'replayed-read' } });
    expect(res.status).toBe(200);
    expect(a.seen.length + b.seen.length).toBe(3);
    // both replicas in the first pass, then one more in @replay (error_page joins them with " : ")
    const line = await waitFor(async () => (await nginx.accessLines()).find((l) => l.requestId === 'replayed-read'), {
      what: 'access log line',
    });
    expect(String(line.upstreamAddr)).toMatch(/^127\.0\.0\.1:\d+, 127\.0\.0\.1:\d+ : 127\.0\.0\.1:\d+$/);
  });

  it('when a replica drops a POST it received, then the POST is not sent to the other and the client gets 502', async () => {
    const { a, b, nginx } = await edge();
    a.crashOn.add('POST');
    const results: Array<{ id: string; status: number }> = [];
    for (let i = 0; i < 6; i++) {
      const id = randomUUID();
      const res = await fetch(`${nginx.url}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id }),
      });
      if (res.status === 502) await expectProblem(res, 502, 'upstream_unavailable');
      results.push({ id, status: res.status });
    }
    const idsAt = (seen: typeof a.seen) => new Set(seen.map((s) => (JSON.parse(s.body) as { id: string }).id));
    const atA = idsAt(a.seen);
    const atB = idsAt(b.seen);
    expect(atA.size).toBeGreaterThanOrEqual(1);
    for (const id of atA) expect(atB.has(id)).toBe(false);
    for (const r of results) expect(r.status).toBe(atA.has(r.id) ? 502 : 202);
    // and a 502 POST is not placed once more (@replay is for reads): each was received once
    expect(a.seen.length + b.seen.length).toBe(6);
  });

  it('when a replica refuses the connection, then a POST goes to the other (it never reached the first)', async () => {
    const { a, b, nginx } = await edge();
    await a.stop();
    for (let i = 0; i < 4; i++)
      expect((await fetch(`${nginx.url}/orders`, { method: 'POST', body: '{}' })).status).toBe(202);
    expect(b.seen.filter((s) => s.method === 'POST').length).toBe(4);
  });

  it('when every replica is down, then nginx answers 502 problem+json upstream_unavailable', async () => {
    const { a, b, nginx } = await edge();
    await Promise.all([a.stop(), b.stop()]);
    await expectProblem(await fetch(`${nginx.url}/events/e1/availability`), 502, 'upstream_unavailable');
  });

  it('when X-Request-Id is absent, then nginx sets one; when present and well-formed, it is kept', async () => {
    const { a, b, nginx } = await edge();
    const absent = (await (await fetch(`${nginx.url}/x`)).json()) as { headers: Record<string, string> };
    expect(absent.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
    const mine = `req-${randomUUID()}`;
    const kept = (await (await fetch(`${nginx.url}/x`, { headers: { 'x-request-id': mine } })).json()) as {
      headers: Record<string, string>;
    };
    expect(kept.headers['x-request-id']).toBe(mine);
    const junk = (await (await fetch(`${nginx.url}/x`, { headers: { 'x-request-id': 'not an "id"' } })).json()) as {
      headers: Record<string, string>;
    };
    expect(junk.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
    for (const seen of [...a.seen, ...b.seen]) {
      expect(seen.headers['x-real-ip']).toBe('127.0.0.1');
      expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
      expect(seen.headers['x-forwarded-proto']).toBe('http');
    }
  });

  it('when a request is proxied, then the access log has one JSON line with its id, upstream and timings', async () => {
    const { nginx } = await edge();
    const id = `log-${randomUUID()}`;
    await fetch(`${nginx.url}/events/e1/availability?x=1`, { headers: { 'x-request-id': id } });
    const line = await waitFor(async () => (await nginx.accessLines()).find((l) => l.requestId === id), {
      what: 'access log line',
    });
    expect(line).toMatchObject({
      component: 'nginx',
      event: 'http.access',
      method: 'GET',
      uri: '/events/e1/availability?',
      status: 200,
      remoteAddr: '127.0.0.1',
      upstreamStatus: '200',
    });
    expect(typeof line.time).toBe('string');
    expect(typeof line.requestTime).toBe('number');
    expect(typeof line.bytesSent).toBe('number');
    expect(String(line.upstreamAddr)).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(String(line.upstreamResponseTime)).toMatch(/^\d+\.\d{3}$/);
  });

  it('when buyers poll the waiting room with their queue token in the query, with a replica down, then neither the access log nor the error log holds the token', async () => {
    const { a, nginx } = await edge();
    await a.stop(); // connect() failures are written to the error log, with the request line
    const token = `eyJhbGciOiJIUzI1NiJ9.${randomUUID()}.${randomUUID()}`;
    const id = `room-${randomUUID()}`;
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${nginx.url}/events/e1/waiting-room?token=${token}`, {
        headers: { 'x-request-id': `${id}-${i}` },
      });
      expect(res.status).toBe(200);
    }
    const lines = await waitFor(
      async () => {
        const mine = (await nginx.accessLines()).filter((l) => String(l.requestId).startsWith(id));
        return mine.length === 4 ? mine : undefined;
      },
      { what: 'access log lines' },
    );
    expect(lines.map((l) => l.uri)).toEqual(Array(4).fill('/events/e1/waiting-room?'));
    expect(lines.some((l) => String(l.upstreamAddr).includes(a.address))).toBe(true);
    expect(await readFile(nginx.accessLog, 'utf8')).not.toContain(token);
    expect(await readFile(join(nginx.dir, 'error.log'), 'utf8')).not.toContain(token);
  });

  it('when every replica is down and a buyer polls the waiting room, then 502 problem+json and neither log holds the token', async () => {
    const { a, b, nginx } = await edge();
    await Promise.all([a.stop(), b.stop()]); // both passes fail: the first and @replay's
    const token = `eyJhbGciOiJIUzI1NiJ9.${randomUUID()}.${randomUUID()}`;
    await expectProblem(await fetch(`${nginx.url}/events/e1/waiting-room?token=${token}`), 502, 'upstream_unavailable');
    expect(await readFile(nginx.accessLog, 'utf8')).not.toContain(token);
    expect(await readFile(join(nginx.dir, 'error.log'), 'utf8')).not.toContain(token);
  });

  it('when a client bursts purchases over the rate, then the excess gets 429 problem+json and never reaches a replica', async () => {
    const { a, b, nginx } = await edge({ rateLimitPerSecond: 1, rateLimitBurst: 2 });
    const post = () =>
      fetch(`${nginx.url}/events/e1/purchases`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
    const responses = await Promise.all(Array.from({ length: 12 }, post));
    const limited = responses.filter((r) => r.status === 429);
    const accepted = responses.filter((r) => r.status === 202);
    expect(limited.length).toBeGreaterThanOrEqual(6);
    expect(accepted.length + limited.length).toBe(12);
    const body = await expectProblem(limited[0]!, 429, 'rate_limited');
    expect(body.title).toBe(ERROR_CATALOGUE.rate_limited.title);
    expect(limited[0]!.headers.get('retry-after')).toBe('1');
    expect(a.seen.length + b.seen.length).toBe(accepted.length);
    // reads on the same path are not limited
    for (let i = 0; i < 5; i++) expect((await fetch(`${nginx.url}/events/e1/purchases`)).status).toBe(200);
  });

  it('when a body is over 16k, then nginx answers 413 problem+json and the replicas see nothing', async () => {
    const { a, b, nginx } = await edge();
    const res = await fetch(`${nginx.url}/events/e1/purchases`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ pad: 'x'.repeat(20_000) }),
    });
    const body = await expectProblem(res, 413, 'payload_too_large');
    expect(body.title).toBe(ERROR_CATALOGUE.payload_too_large.title);
    expect(a.seen.length + b.seen.length).toBe(0);
  });
});

describe('the edge micro-cache of availability reads', () => {
  const availability = (nginx: { url: string }, id: string) => fetch(`${nginx.url}/events/${id}/availability`);
  const reachedReplicas = (a: { seen: Seen[] }, b: { seen: Seen[] }, id: string) =>
    [...a.seen, ...b.seen].filter((s) => s.url.startsWith(`/events/${id}/availability`)).length;

  it('when it is on and 50 reads of a cold event arrive at once, then one reaches a replica, and once the entry expired one more', async () => {
    const { a, b, nginx } = await edge({ edgeCache: true });
    a.delayMs = 200;
    b.delayMs = 200;
    const id = randomUUID();
    const answers = await Promise.all(Array.from({ length: 50 }, () => availability(nginx, id)));
    expect(answers.map((r) => r.status)).toEqual(answers.map(() => 200));
    expect(reachedReplicas(a, b, id)).toBe(1);
    const statuses = answers.map((r) => r.headers.get('x-edge-cache'));
    expect(statuses.filter((s) => s === 'MISS')).toHaveLength(1);
    // A query string makes no new entry.
    expect((await fetch(`${nginx.url}/events/${id}/availability?x=${randomUUID()}`)).headers.get('x-edge-cache')).toBe(
      'HIT',
    );
    expect(reachedReplicas(a, b, id)).toBe(1);
    // nginx counts validity in whole seconds: `1s` lasts 1 to 2 s.
    await new Promise((r) => setTimeout(r, 2_100));
    expect((await availability(nginx, id)).headers.get('x-edge-cache')).toBe('EXPIRED');
    expect(reachedReplicas(a, b, id)).toBe(2);
  });

  it('when it is off (the default), then every read reaches a replica', async () => {
    const { a, b, nginx } = await edge();
    const id = randomUUID();
    for (let i = 0; i < 5; i += 1) {
      const res = await availability(nginx, id);
      expect(res.status).toBe(200);
      expect(res.headers.get('x-edge-cache')).toBeNull();
    }
    expect(reachedReplicas(a, b, id)).toBe(5);
  });
});
