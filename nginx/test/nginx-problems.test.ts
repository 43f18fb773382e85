import { readFile } from 'node:fs/promises';
import { ERROR_CATALOGUE, type ErrorCode } from '@stampede/core/errors';
import { NGINX_TEMPLATE_PATH } from '@stampede/lab/nginx-config';
import { type RawResponse, rawHttp, waitFor } from '@stampede/lab/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanupList,
  type FakeReplica,
  startFakeReplica,
  startNginx,
  type TestNginx,
} from './support/nginx-harness.js';

const cleanup = cleanupList();
let nginx: TestNginx;
let replica: FakeReplica;
beforeAll(async () => {
  replica = cleanup.add(await startFakeReplica('a'));
  nginx = cleanup.add(await startNginx({ upstreams: [replica.address] }));
});
afterAll(() => cleanup.run());

const request = (...lines: string[]) => `${lines.join('\r\n')}\r\n\r\n`;
const get = (target: string, ...headers: string[]) =>
  request(`GET ${target} HTTP/1.1`, 'Host: localhost', 'Connection: close', ...headers);

/** The answer is nginx's own problem document with the catalogue's code, status and title, and echoes nothing. */
function expectProblem(res: RawResponse, status: number, code: ErrorCode, notEchoed: string[] = []) {
  expect(res.status, res.body).toBe(status);
  expect(res.headers['content-type']).toBe('application/problem+json');
  expect(res.headers['x-served-by']).toBe('nginx');
  const body = JSON.parse(res.body) as Record<string, unknown>;
  expect(body).toMatchObject({
    status,
    code,
    title: ERROR_CATALOGUE[code].title,
    type: `https://stampede.dev/problems/${code.replaceAll('_', '-')}`,
  });
  expect(ERROR_CATALOGUE[code].status).toBe(status);
  expect(body.requestId).toBe(res.headers['x-request-id']);
  for (const s of notEchoed) expect(res.body).not.toContain(s);
  return body;
}

interface Case {
  name: string;
  raw: string | (() => string);
  status: number;
  code: ErrorCode;
  notEchoed?: string[];
}

const huge = 'x'.repeat(9_000);
const cases: Case[] = [
  { name: 'a request line that is not HTTP', raw: request('GARBAGE'), status: 400, code: 'bad_request' },
  { name: 'a lower-case method', raw: request('get / HTTP/1.1', 'Host: localhost'), status: 400, code: 'bad_request' },
  {
    name: 'two Host headers',
    raw: request('GET / HTTP/1.1', 'Host: a', 'Host: b'),
    status: 400,
    code: 'bad_request',
  },
  {
    name: 'Content-Length and Transfer-Encoding together',
    raw: request(
      'POST /events/e1/purchases HTTP/1.1',
      'Host: localhost',
      'Content-Length: 2',
      'Transfer-Encoding: chunked',
    ),
    status: 400,
    code: 'bad_request',
  },
  {
    name: 'TRACE',
    raw: request('TRACE / HTTP/1.1', 'Host: localhost'),
    status: 405,
    code: 'method_not_allowed',
  },
  { name: 'a 9 kB URI', raw: () => get(`/${huge}`), status: 414, code: 'uri_too_long', notEchoed: [huge] },
  {
    name: 'a 9 kB header',
    raw: () => get('/', `X-Big: ${huge}`),
    status: 431,
    code: 'headers_too_large',
    notEchoed: [huge],
  },
  {
    name: 'an unknown Transfer-Encoding',
    raw: request('POST /events/e1/purchases HTTP/1.1', 'Host: localhost', 'Transfer-Encoding: gzip'),
    status: 501,
    code: 'not_implemented',
  },
  {
    name: 'HTTP/2.0 in the request line',
    raw: request('GET / HTTP/2.0', 'Host: localhost'),
    status: 505,
    code: 'http_version_not_supported',
  },
  {
    name: 'a Content-Length that is not a number',
    raw: request('POST /events/e1/purchases HTTP/1.1', 'Host: localhost', 'Content-Length: 12abc'),
    status: 400,
    code: 'bad_request',
  },
  {
    name: 'two different Content-Lengths',
    raw: request('POST /events/e1/purchases HTTP/1.1', 'Host: localhost', 'Content-Length: 2', 'Content-Length: 3'),
    status: 400,
    code: 'bad_request',
  },
  {
    name: 'a chunk size that is not hex',
    raw: `${request('POST /events/e1/purchases HTTP/1.1', 'Host: localhost', 'Transfer-Encoding: chunked').slice(0, -2)}\r\nzz\r\n{}\r\n0\r\n\r\n`,
    status: 400,
    code: 'bad_request',
  },
  {
    name: 'a Host with a space',
    raw: request('GET / HTTP/1.1', 'Host: a b'),
    status: 400,
    code: 'bad_request',
  },
  {
    name: 'a NUL byte in the path',
    raw: request('GET /events/\u0000x HTTP/1.1', 'Host: localhost'),
    status: 400,
    code: 'bad_request',
  },
  {
    name: 'HTTP/3.0 in the request line',
    raw: request('GET / HTTP/3.0', 'Host: localhost'),
    status: 505,
    code: 'http_version_not_supported',
  },
];

describe('errors nginx answers itself', () => {
  it.each(cases)('when a client sends $name, then nginx answers $status $code as problem+json', async (c) => {
    const before = replica.seen.length;
    const res = await rawHttp(nginx.port, [typeof c.raw === 'function' ? c.raw() : c.raw]);
    const body = expectProblem(res, c.status, c.code, c.notEchoed);
    if (c.code === 'method_not_allowed') expect(res.headers.allow).toBe('GET, HEAD, POST');
    expect(typeof body.detail).toBe('string');
    expect(replica.seen.length).toBe(before);
  });

  it('when the error pages are read, then each is the catalogue entry of its code (status, title, type)', async () => {
    const template = await readFile(NGINX_TEMPLATE_PATH, 'utf8');
    const entries = [...template.matchAll(/^\s+(\d{3}|default) '(.*"code":"[a-z_]+")';$/gm)];
    expect(entries.length).toBeGreaterThanOrEqual(15);
    for (const [, key, members] of entries) {
      const doc = JSON.parse(`{${members}}`) as { type: string; title: string; status: number; code: ErrorCode };
      const entry = ERROR_CATALOGUE[doc.code];
      expect(entry, doc.code).toBeDefined();
      expect({ status: doc.status, title: doc.title }).toEqual({ status: entry.status, title: entry.title });
      expect(doc.type).toBe(`https://stampede.dev/problems/${doc.code.replaceAll('_', '-')}`);
      if (key !== 'default') expect(doc.status).toBe(Number(key));
    }
    // every status the error_page lines send to @problem has an entry
    const statuses = template
      .split('\n')
      .filter((l) => l.trim().startsWith('error_page'))
      .flatMap((l) => l.replace(/=\d{3}/, '').match(/\b\d{3}\b/g) ?? []);
    const mapped = new Set(entries.map(([, key]) => key));
    for (const s of statuses) if (s !== '494') expect(mapped.has(s), s).toBe(true);
  });
});

describe('surfaces nginx keeps closed', () => {
  it.each(['/metrics', '/METRICS', '/metrics/', '/%6detrics', '//metrics', '/x/../metrics', '/metrics?name=x'])(
    'when %s is asked for through the front door, then 403 problem+json and no replica is asked',
    async (path) => {
      const before = replica.seen.length;
      expectProblem(await rawHttp(nginx.port, [get(path)]), 403, 'forbidden');
      expect(replica.seen.length).toBe(before);
    },
  );

  it('when a request carries a secret in its query string, then the access log has its path without the query', async () => {
    const secret = `s3cret-${Date.now()}`;
    const res = await fetch(`${nginx.url}/events/e1/availability?token=${secret}&x=1`, {
      headers: { 'x-request-id': `query-${secret}` },
    });
    expect(res.status).toBe(200);
    const line = await waitFor(async () => (await nginx.accessLines()).find((l) => l.requestId === `query-${secret}`), {
      what: 'access log line',
    });
    expect(line.uri).toBe('/events/e1/availability?');
    expect(await readFile(nginx.accessLog, 'utf8')).not.toContain(`token=${secret}`);
  });
});
