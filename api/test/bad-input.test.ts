import { randomUUID } from 'node:crypto';
import { redisKeys } from '@stampede/core/redis';
import { createTestEvent, queueDepths, type TestEvent, testSql, waitFor } from '@stampede/lab/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from './app-fixture.js';

const sql = testSql();
let t: TestApp;
let event: TestEvent;
let other: TestEvent;

beforeAll(async () => {
  t = buildTestApp();
  event = await createTestEvent(sql, [10]);
  other = await createTestEvent(sql, [10]);
  await waitFor(() => t.publisher.isConnected() && t.redis.status === 'ready', { what: 'broker and redis' });
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
}

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

    expect((await queueDepths(t.config.AMQP_PREFIX)).queue).toBe(0);
    const [{ n }] = await sql<
      { n: number }[]
    >`select count(*)::int as n from purchases where event_id in (${event.id}, ${other.id})`;
    expect(n).toBe(0);
    const stock = await t.redis.get(redisKeys(t.config.REDIS_KEY_PREFIX).stock(tier()));
    expect(stock === null || Number(stock) === 10).toBe(true);
  });

  it('when GET ids are not UUIDs, then 400 invalid_id problems', async () => {
    for (const path of ['/events/x', '/events/x/availability', '/purchases/12']) {
      const res = await t.app.request(path);
      expect(res.status).toBe(400);
      expect((await res.json()).code).toBe('invalid_id');
    }
  });

  it('when an unknown route or method is asked for, then a 404 problem without internals', async () => {
    const res = await t.app.request('/nope', { method: 'DELETE' });
    expect(res.status).toBe(404);
    expect((await res.json()).code).toBe('not_found');
  });
});
