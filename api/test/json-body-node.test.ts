import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { redisKeys } from '@stampede/core/redis';
import { createTestEvent, type TestEvent, testSql } from '@stampede/lab/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServedTestApp, serveTestApp } from './app-fixture.js';

// The JSON body guard reads the Node stream directly when served by @hono/node-server;
// app.request() in the other tests takes Hono's path, so these go over real HTTP.
const sql = testSql();
let t: ServedTestApp;
let event: TestEvent;
let port: number;

beforeAll(async () => {
  t = await serveTestApp();
  port = t.port;
  event = await createTestEvent(sql, [10]);
});
afterAll(async () => {
  await t.close();
  await sql.end({ timeout: 1 });
});

/** POSTs a purchase over HTTP; `chunked` sends the body without a Content-Length. */
function post(
  body: string,
  headers: Record<string, string> = {},
  chunked = false,
): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: `/events/${event.id}/purchases`,
        headers: {
          'content-type': 'application/json',
          'idempotency-key': randomUUID(),
          ...(chunked ? {} : { 'content-length': Buffer.byteLength(body) }),
          ...headers,
        },
      },
      (res) => {
        let text = '';
        res
          .setEncoding('utf8')
          .on('data', (d) => {
            text += d;
          })
          .on('end', () => resolve({ status: res.statusCode!, json: text ? JSON.parse(text) : undefined }));
      },
    );
    req.on('error', reject);
    if (chunked) {
      req.write(body.slice(0, 10));
      req.end(body.slice(10));
    } else req.end(body);
  });
}

const good = () => ({ tierId: event.tiers[0]!.id, quantity: 1, buyerId: 'buyer-1' });

describe('JSON body of POST /events/:id/purchases over real HTTP', () => {
  it.each([
    {
      name: 'an oversized body with Content-Length',
      body: () => JSON.stringify({ ...good(), pad: 'x'.repeat(10_000) }),
      chunked: false,
      status: 413,
      code: 'payload_too_large',
    },
    {
      name: 'an oversized chunked body',
      body: () => JSON.stringify({ ...good(), pad: 'x'.repeat(10_000) }),
      chunked: true,
      status: 413,
      code: 'payload_too_large',
    },
    { name: 'malformed JSON', body: () => '{"tierId": ', chunked: false, status: 400, code: 'malformed_json' },
    { name: 'an empty body', body: () => '', chunked: false, status: 400, code: 'malformed_json' },
    {
      name: 'a body failing the schema',
      body: () => JSON.stringify({ ...good(), quantity: 0 }),
      chunked: true,
      status: 400,
      code: 'validation_failed',
    },
  ])('when the request has $name, then $status $code', async (c) => {
    const res = await post(c.body(), {}, c.chunked);
    expect(res.status).toBe(c.status);
    expect(res.json).toMatchObject({ status: c.status, code: c.code });
  });

  it('when the content type is not JSON, then 415 unsupported_media_type', async () => {
    const res = await post(JSON.stringify(good()), { 'content-type': 'text/plain' });
    expect(res).toMatchObject({ status: 415, json: { code: 'unsupported_media_type' } });
  });

  it('when a good body is sent chunked or with a BOM, then the purchase is queued (202) with its fields', async () => {
    const chunked = await post(JSON.stringify(good()), {}, true);
    expect(chunked).toMatchObject({ status: 202, json: { status: 'queued' } });
    const bom = await post(`\uFEFF${JSON.stringify({ ...good(), buyerId: 'buyer-2' })}`);
    expect(bom).toMatchObject({ status: 202, json: { status: 'queued' } });
    const [{ n }] = await sql<{ n: number }[]>`select count(*)::int as n from purchases where event_id = ${event.id}`;
    expect(n).toBe(0); // queued, not decided: no worker runs here
  });

  it('when the client goes away in the middle of the body, then nothing is queued and the replica answers the next purchase', async () => {
    const key = randomUUID();
    const body = JSON.stringify(good());
    await new Promise<void>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write(
          `POST /events/${event.id}/purchases HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nIdempotency-Key: ${key}\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 12)}`,
          () => setTimeout(() => socket.destroy(), 50),
        );
      });
      socket.on('close', () => resolve()).on('error', reject);
    });
    const admitted = () => t.redis.exists(redisKeys(t.config.REDIS_KEY_PREFIX).idempotency(key, event.id));
    await new Promise((r) => setTimeout(r, 100));
    expect(await admitted()).toBe(0);
    const res = await post(body, { 'idempotency-key': key });
    expect(res).toMatchObject({ status: 202, json: { status: 'queued' } });
    expect(await admitted()).toBe(1);
  });
});
