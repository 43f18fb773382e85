import { randomUUID } from 'node:crypto';
import type { ErrorCode } from '@stampede/core/errors';
import { createTestEvent, type RawResponse, rawHttp, type TestEvent, testSql } from '@stampede/lab/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServedTestApp, serveTestApp } from './app-fixture.js';
import { expectNothingChanged } from './nothing-changed.js';

const sql = testSql();
const REQUEST_TIMEOUT_MS = 1_500;
let t: ServedTestApp;
let event: TestEvent;
beforeAll(async () => {
  t = await serveTestApp({ HTTP_REQUEST_TIMEOUT_MS: REQUEST_TIMEOUT_MS });
  event = await createTestEvent(sql, [10]);
});
afterAll(async () => {
  await t.close();
  await sql.end({ timeout: 1 });
});

const request = (...lines: (string | Buffer)[]) =>
  Buffer.concat([...lines.flatMap((l) => [Buffer.from(l), Buffer.from('\r\n')]), Buffer.from('\r\n')]);
const purchaseBody = () =>
  JSON.stringify({ tierId: event.tiers[0]!.id, quantity: 1, buyerId: `buyer-${randomUUID().slice(0, 8)}` });
const purchaseHead = (...extra: string[]) => [
  `POST /events/${event.id}/purchases HTTP/1.1`,
  'Host: localhost',
  'Content-Type: application/json',
  `Idempotency-Key: ${randomUUID()}`,
  ...extra,
];

function expectProblem(res: RawResponse, status: number, code: ErrorCode, notEchoed: string[] = []) {
  expect(res.status, res.body).toBe(status);
  expect(res.headers['content-type']).toBe('application/problem+json');
  expect(res.headers['x-request-id']).toBeTruthy();
  expect(res.headers['x-content-type-options']).toBe('nosniff');
  const body = JSON.parse(res.body) as Record<string, unknown>;
  expect(body).toMatchObject({ status, code, requestId: res.headers['x-request-id'] });
  for (const s of notEchoed) expect(res.body).not.toContain(s);
}

interface Case {
  name: string;
  raw: () => Buffer;
  status: number;
  code: ErrorCode;
  notEchoed?: string[];
}

const big = 'x'.repeat(7_000);
const cases: Case[] = [
  {
    name: 'the method FOO',
    raw: () => request('FOO / HTTP/1.1', 'Host: localhost'),
    status: 501,
    code: 'not_implemented',
  },
  { name: 'a request line that is not HTTP', raw: () => request('GARBAGE'), status: 501, code: 'not_implemented' },
  {
    name: 'a raw UTF-8 path',
    raw: () => request(Buffer.from('GET /événements HTTP/1.1'), 'Host: localhost'),
    status: 400,
    code: 'bad_request',
  },
  {
    name: 'a Host with userinfo',
    raw: () => request('GET /events HTTP/1.1', 'Host: a@b'),
    status: 400,
    code: 'bad_request',
    notEchoed: ['a@b'],
  },
  {
    name: 'a backslash in the path',
    raw: () => request('GET /events\\x HTTP/1.1', 'Host: localhost'),
    status: 400,
    code: 'bad_request',
  },
  {
    name: 'three 7 kB headers',
    raw: () => request('GET /events HTTP/1.1', 'Host: localhost', `A: ${big}`, `B: ${big}`, `C: ${big}`),
    status: 431,
    code: 'headers_too_large',
    notEchoed: [big],
  },
  { name: 'HTTP/1.1 without Host', raw: () => request('GET /events HTTP/1.1'), status: 400, code: 'bad_request' },
  {
    name: 'HTTP/2.0 in the request line',
    raw: () => request('GET /events HTTP/2.0', 'Host: localhost'),
    status: 505,
    code: 'http_version_not_supported',
  },
  {
    name: 'a purchase in an unknown Transfer-Encoding',
    raw: () => Buffer.concat([request(...purchaseHead('Transfer-Encoding: gzip')), Buffer.from(purchaseBody())]),
    status: 501,
    code: 'not_implemented',
  },
  {
    name: 'a purchase with Content-Length and Transfer-Encoding',
    raw: () =>
      Buffer.concat([
        request(...purchaseHead('Content-Length: 5', 'Transfer-Encoding: chunked')),
        Buffer.from('0\r\n\r\n'),
      ]),
    status: 400,
    code: 'bad_request',
  },
  {
    name: 'a purchase with a br Content-Encoding',
    raw: () => {
      const body = purchaseBody();
      return Buffer.concat([
        request(...purchaseHead('Content-Encoding: br', `Content-Length: ${body.length}`)),
        Buffer.from(body),
      ]);
    },
    status: 415,
    code: 'unsupported_encoding',
  },
  {
    name: 'TRACE on a known path',
    raw: () => request('TRACE /events HTTP/1.1', 'Host: localhost'),
    status: 405,
    code: 'method_not_allowed',
  },
];

describe('requests refused before or around the app, on the Node server', () => {
  it.each(cases)('when a client sends $name, then $status $code as problem+json and nothing changes', async (c) => {
    expectProblem(await rawHttp(t.port, [c.raw()]), c.status, c.code, c.notEchoed);
    await expectNothingChanged(t, sql, [event]);
  });

  it('when a known path is asked with a wrong method, then the 405 says Allow', async () => {
    const res = await rawHttp(t.port, [request(`DELETE /events/${event.id} HTTP/1.1`, 'Host: localhost')]);
    expectProblem(res, 405, 'method_not_allowed');
    expect(res.headers.allow).toBe('GET, HEAD');
  });

  it('when HTTP/1.0 comes without Host (legal in 1.0), then it is served', async () => {
    const res = await rawHttp(t.port, [request('GET /health/live HTTP/1.0')]);
    expect(res.status).toBe(200);
  });

  it('when a purchase body arrives a byte at a time, then the request is cut off at the total deadline, not per byte, and nothing is bought', async () => {
    const body = purchaseBody();
    const head = request(...purchaseHead(`Content-Length: ${body.length}`));
    // A byte every 200 ms: each read is far inside any per-read timeout, the whole body would take ~20 s.
    const res = await rawHttp(t.port, [head, ...body.split('')], { everyMs: 200, timeoutMs: 15_000 });
    expect(res.ms).toBeLessThan(REQUEST_TIMEOUT_MS + 2_500);
    expectProblem(res, 408, 'request_timeout');
    await expectNothingChanged(t, sql, [event]);
  });
});
