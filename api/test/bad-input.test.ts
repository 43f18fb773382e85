import { randomUUID } from 'node:crypto';
import { mapPostgresError } from '@stampede/core/errors';
import { createEvent } from '@stampede/core/events';
import { createTestEvent, type TestEvent, testSql } from '@stampede/lab/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appReady, buildTestApp, type TestApp } from './app-fixture.js';
import { expectNothingChanged } from './nothing-changed.js';

const sql = testSql();
const ADMIN = `admin-${randomUUID()}`;
let t: TestApp;
let event: TestEvent;
let other: TestEvent;

beforeAll(async () => {
  t = buildTestApp({ ADMIN_TOKEN: ADMIN });
  event = await createTestEvent(sql, [10]);
  other = await createTestEvent(sql, [10]);
  await appReady(t);
});
afterAll(async () => {
  await t.close();
  await sql.end({ timeout: 1 });
});

interface Case {
  name: string;
  status: number;
  code: string;
  path?: () => string;
  headers?: Record<string, string | undefined>;
  body?: () => string;
  /** Text of the request that must not come back in the answer. */
  notEchoed?: string[];
}

const MARKUP_KEY = '<img src=x onerror=alert(1)>';

const tier = () => event.tiers[0]!.id;
const good = () => ({ tierId: tier(), quantity: 1, buyerId: 'buyer-1' });
const json = (o: unknown) => () => JSON.stringify(o);

const cases: Case[] = [
  { name: 'malformed JSON', status: 400, code: 'malformed_json', body: () => '{"tierId": ' },
  { name: 'empty body', status: 400, code: 'malformed_json', body: () => '' },
  {
    name: 'text/plain content type',
    status: 415,
    code: 'unsupported_media_type',
    headers: { 'content-type': 'text/plain' },
  },
  {
    name: 'form content type',
    status: 415,
    code: 'unsupported_media_type',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  },
  { name: 'no content type', status: 415, code: 'unsupported_media_type', headers: { 'content-type': undefined } },
  { name: 'JSON array', status: 400, code: 'validation_failed', body: () => JSON.stringify([good()]) },
  { name: 'JSON null', status: 400, code: 'validation_failed', body: () => 'null' },
  {
    name: 'quantity as a string',
    status: 400,
    code: 'validation_failed',
    body: () => JSON.stringify({ ...good(), quantity: '1' }),
  },
  {
    name: 'quantity zero',
    status: 400,
    code: 'validation_failed',
    body: () => JSON.stringify({ ...good(), quantity: 0 }),
  },
  {
    name: 'quantity negative',
    status: 400,
    code: 'validation_failed',
    body: () => JSON.stringify({ ...good(), quantity: -3 }),
  },
  {
    name: 'quantity huge',
    status: 400,
    code: 'validation_failed',
    body: () => JSON.stringify({ ...good(), quantity: 1e12 }),
  },
  {
    name: 'quantity above the maximum',
    status: 400,
    code: 'validation_failed',
    body: () => JSON.stringify({ ...good(), quantity: 7 }),
  },
  {
    name: 'quantity fractional',
    status: 400,
    code: 'validation_failed',
    body: () => JSON.stringify({ ...good(), quantity: 1.5 }),
  },
  {
    name: 'missing tierId',
    status: 400,
    code: 'validation_failed',
    body: () => JSON.stringify({ quantity: 1, buyerId: 'b' }),
  },
  {
    name: 'missing buyerId',
    status: 400,
    code: 'validation_failed',
    body: () => JSON.stringify({ tierId: tier(), quantity: 1 }),
  },
  { name: 'extra field', status: 400, code: 'validation_failed', body: () => JSON.stringify({ ...good(), price: 0 }) },
  {
    name: 'tierId not a UUID',
    status: 400,
    code: 'validation_failed',
    body: () => JSON.stringify({ ...good(), tierId: 'vip' }),
  },
  {
    name: 'buyerId empty',
    status: 400,
    code: 'validation_failed',
    body: () => JSON.stringify({ ...good(), buyerId: '' }),
  },
  {
    name: 'buyerId too long',
    status: 400,
    code: 'validation_failed',
    body: () => JSON.stringify({ ...good(), buyerId: 'b'.repeat(65) }),
  },
  {
    name: 'buyerId with control characters',
    status: 400,
    code: 'validation_failed',
    body: () => JSON.stringify({ ...good(), buyerId: 'bob\u0000\u001b[31m' }),
  },
  {
    name: 'buyerId with a newline',
    status: 400,
    code: 'validation_failed',
    body: () => JSON.stringify({ ...good(), buyerId: 'bob\nadmin' }),
  },
  {
    name: 'buyerId with right-to-left override',
    status: 400,
    code: 'validation_failed',
    body: () => JSON.stringify({ ...good(), buyerId: 'bob\u202Eevil' }),
  },
  {
    name: 'oversized body',
    status: 413,
    code: 'payload_too_large',
    body: () => JSON.stringify({ ...good(), pad: 'x'.repeat(10_000) }),
  },
  {
    name: 'missing Idempotency-Key',
    status: 400,
    code: 'idempotency_key_missing',
    headers: { 'idempotency-key': undefined },
  },
  { name: 'empty Idempotency-Key', status: 400, code: 'idempotency_key_missing', headers: { 'idempotency-key': '' } },
  {
    name: 'overlong Idempotency-Key',
    status: 400,
    code: 'idempotency_key_invalid',
    headers: { 'idempotency-key': 'k'.repeat(129) },
  },
  {
    name: 'Idempotency-Key with spaces',
    status: 400,
    code: 'idempotency_key_invalid',
    headers: { 'idempotency-key': 'two words' },
  },
  {
    name: 'Idempotency-Key with unicode',
    status: 400,
    code: 'idempotency_key_invalid',
    headers: { 'idempotency-key': 'clé-ü' },
  },
  { name: 'event id not a UUID', status: 400, code: 'invalid_id', path: () => '/events/concert/purchases' },
  {
    name: 'event id with SQL',
    status: 400,
    code: 'invalid_id',
    path: () => `/events/${encodeURIComponent("1' or '1'='1")}/purchases`,
  },
  { name: 'unknown event', status: 404, code: 'event_not_found', path: () => `/events/${randomUUID()}/purchases` },
  {
    name: 'unknown tier',
    status: 404,
    code: 'tier_not_found',
    body: () => JSON.stringify({ ...good(), tierId: randomUUID() }),
  },
  {
    name: 'a br Content-Encoding',
    status: 415,
    code: 'unsupported_encoding',
    headers: { 'content-encoding': 'br' },
  },
  {
    name: 'a gzip Content-Encoding',
    status: 415,
    code: 'unsupported_encoding',
    headers: { 'content-encoding': 'gzip' },
  },
  {
    name: 'an unknown key named like markup',
    status: 400,
    code: 'validation_failed',
    body: () => JSON.stringify({ ...good(), [MARKUP_KEY]: 1 }),
    notEchoed: ['<img', 'onerror'],
  },
  {
    name: 'a __proto__ key',
    status: 400,
    code: 'validation_failed',
    body: () => `{"__proto__":{"admin":true},${JSON.stringify(good()).slice(1)}`,
    notEchoed: ['__proto__', 'admin'],
  },
  {
    name: 'a key given twice (the last one too big)',
    status: 400,
    code: 'validation_failed',
    body: () => `{"quantity":1,${JSON.stringify({ ...good(), quantity: 100 }).slice(1)}`,
  },
  {
    name: 'markup in buyerId',
    status: 400,
    code: 'validation_failed',
    body: () => JSON.stringify({ ...good(), buyerId: '<script>alert(1)</script>' }),
    notEchoed: ['<script', 'alert('],
  },
  {
    name: 'SQL in tierId',
    status: 400,
    code: 'validation_failed',
    body: () => JSON.stringify({ ...good(), tierId: "x'; drop table purchases; --" }),
    notEchoed: ['drop table'],
  },
  {
    name: 'markup as the event id',
    status: 400,
    code: 'invalid_id',
    path: () => `/events/${encodeURIComponent(MARKUP_KEY)}/purchases`,
    // `instance` is the path as sent, still percent-encoded: never the decoded markup
    notEchoed: ['<img', 'src=x'],
  },
  {
    name: 'JSON nested 2,000 deep',
    status: 400,
    code: 'validation_failed',
    body: () => `${'['.repeat(2_000)}${']'.repeat(2_000)}`,
  },
  {
    name: 'tier of another event',
    status: 404,
    code: 'tier_not_found',
    body: () => JSON.stringify({ ...good(), tierId: other.tiers[0]!.id }),
  },
];

describe('bad input on POST /events/:id/purchases', () => {
  it.each(cases)('when the request has $name, then $status $code and nothing is queued or written', async (c) => {
    const headers: Record<string, string> = {};
    const given = { 'content-type': 'application/json', 'idempotency-key': randomUUID(), ...c.headers };
    for (const [k, v] of Object.entries(given)) if (v !== undefined) headers[k] = v;
    const res = await t.app.request(c.path?.() ?? `/events/${event.id}/purchases`, {
      method: 'POST',
      headers,
      body: (c.body ?? json(good()))(),
    });

    expect(res.status).toBe(c.status);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    const problem = await res.json();
    expect(problem).toMatchObject({ status: c.status, code: c.code });
    expect(JSON.stringify(problem)).not.toMatch(/at .*\.(ts|js):\d+|select |insert /i);
    for (const text of c.notEchoed ?? []) expect(JSON.stringify(problem)).not.toContain(text);

    await expectNothingChanged(t, sql, [event, other]);
  });

  it('when GET ids are not UUIDs, then 400 invalid_id problems', async () => {
    for (const path of ['/events/x', '/events/x/availability', '/purchases/12']) {
      const res = await t.app.request(path);
      expect(res.status).toBe(400);
      expect((await res.json()).code).toBe('invalid_id');
    }
  });

  it('when an unknown route is asked for, then a 404 problem that repeats neither the method nor the path', async () => {
    const res = await t.app.request('/nope-<b>', { method: 'DELETE' });
    expect(res.status).toBe(404);
    const problem = await res.json();
    expect(problem.code).toBe('not_found');
    expect(problem.detail).not.toMatch(/DELETE|nope|<b>/);
    expect(JSON.stringify(problem)).not.toContain('<b>');
  });

  const wrongMethods: { method: string; path: () => string; allow: string }[] = [
    { method: 'GET', path: () => `/events/${event.id}/purchases`, allow: 'POST' },
    { method: 'PUT', path: () => `/events/${event.id}/purchases`, allow: 'POST' },
    { method: 'DELETE', path: () => `/purchases/${randomUUID()}`, allow: 'GET, HEAD' },
    { method: 'POST', path: () => `/purchases/${randomUUID()}`, allow: 'GET, HEAD' },
    { method: 'POST', path: () => '/events', allow: 'GET, HEAD' },
    { method: 'PATCH', path: () => `/events/${event.id}`, allow: 'GET, HEAD' },
    { method: 'OPTIONS', path: () => `/events/${event.id}/availability`, allow: 'GET, HEAD' },
    { method: 'DELETE', path: () => '/metrics', allow: 'GET, HEAD' },
    { method: 'POST', path: () => `/purchases/${randomUUID()}/events`, allow: 'GET, HEAD' },
  ];
  it.each(wrongMethods)(
    'when $method is sent to a path that does not serve it, then 405 method_not_allowed with Allow: $allow',
    async ({ method, path, allow }) => {
      const res = await t.app.request(path(), { method, headers: { 'content-type': 'application/json' } });
      expect(res.status).toBe(405);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect(res.headers.get('allow')).toBe(allow);
      expect((await res.json()).code).toBe('method_not_allowed');
      await expectNothingChanged(t, sql, [event, other]);
    },
  );
});

describe('bad input on POST /admin/events', () => {
  const create = (body: Record<string, unknown>) =>
    t.app.request('/admin/events', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` },
      body: JSON.stringify(body),
    });
  const dated = (dates: Record<string, string>) => ({
    name: `bad-dates-${randomUUID()}`,
    startsAt: '2030-01-01T20:00:00Z',
    tiers: [{ name: 'GA', priceCents: 100, capacity: 1 }],
    ...dates,
  });

  it.each([
    ['startsAt in year 0', { startsAt: '0000-01-01T00:00:00Z' }],
    ['startsAt before 1970', { startsAt: '1969-12-31T23:59:59Z' }],
    ['saleOpensAt in year 0', { saleOpensAt: '0000-06-01T00:00:00+01:00' }],
    ['saleClosesAt in year 0', { saleClosesAt: '0000-01-01T00:00:00Z' }],
    ['startsAt on 30 February', { startsAt: '2030-02-30T20:00:00Z' }],
    ['startsAt in an extended year', { startsAt: '+010000-01-01T00:00:00Z' }],
    ['saleClosesAt past 9999 by its offset', { saleClosesAt: '9999-12-31T23:30:00-01:00' }],
    ['startsAt at hour 24', { startsAt: '2030-01-01T24:00:00Z' }],
    ['saleOpensAt on a leap second', { saleOpensAt: '2030-06-30T23:59:60Z' }],
    ['startsAt in year 0 without an offset', { startsAt: '0000-01-01T00:00:00' }],
  ])('when %s, then 400 validation_failed and no event is created', async (_name, dates) => {
    const body = dated(dates);
    const res = await create(body);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect((await res.json()).code).toBe('validation_failed');
    const [row] = await sql<{ n: number }[]>`select count(*)::int as n from events where name = ${body.name}`;
    expect(row?.n).toBe(0);
    await expectNothingChanged(t, sql, [event, other]);
  });

  it('when a year-0 date reaches Postgres anyway, then its 22008 is mapped to 400 validation_failed', async () => {
    // Past the edge (a caller that skips the schema): Postgres itself refuses year 0.
    const name = `year-0-${randomUUID()}`;
    const err = await createEvent(sql, {
      name,
      venue: 'TBA',
      startsAt: new Date('0000-01-01T00:00:00Z'),
      saleOpensAt: new Date(),
      saleClosesAt: null,
      tiers: [{ name: 'GA', priceCents: 100, capacity: 1 }],
    }).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe('22008');
    expect(mapPostgresError(err)).toMatchObject({ code: 'validation_failed', status: 400 });
    const [row] = await sql<{ n: number }[]>`select count(*)::int as n from events where name = ${name}`;
    expect(row?.n).toBe(0);
  });

  it('when Postgres refuses a value as out of range (22008, 22007, 22003), then it is a 400, not a 500', () => {
    for (const code of ['22008', '22007', '22003'])
      expect(mapPostgresError({ code })).toMatchObject({ code: 'validation_failed', status: 400 });
  });
});
