import type { HttpBindings } from '@hono/node-server';
import { createGate } from '@stampede/core/gate';
import type { PurchaseMessage } from '@stampede/core/purchases';
import { placePurchase, requestFingerprint } from '@stampede/core/purchases';
import type { Redis, RedisKeys } from '@stampede/core/redis';
import { Hono } from 'hono';
import type { ConfirmPublisher } from './confirm-publisher.js';

export interface ReferenceDeps {
  redis: Redis;
  keys: RedisKeys;
  publisher: ConfirmPublisher;
  instance: string;
  buyerLimit: number;
  ttlSeconds: number;
}

// A fresh object per answer: Hono keeps (and alters) the headers object it is given.
const problemHeaders = () => ({ 'content-type': 'application/problem+json' });

/** A problem+json body of the same shape and about the same size as Stampede's. */
function problem(code: string, title: string, status: number, detail: string): string {
  return JSON.stringify({
    type: `https://stampede.dev/problems/${code.replaceAll('_', '-')}`,
    title,
    status,
    detail,
    code,
  });
}

interface PurchaseBody {
  tierId: string;
  quantity: number;
  buyerId: string;
}

/**
 * The body read from Node's own stream and parsed: the least work there is under
 * @hono/node-server. Stampede's json-body.ts reads it with `c.req.json()`, which
 * @hono/node-server 2 serves from the same stream (no web Request per request).
 */
function readJson(incoming: HttpBindings['incoming']): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    incoming
      .on('data', (chunk: Buffer) => chunks.push(chunk))
      .on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch (err) {
          reject(err);
        }
      })
      .on('error', reject);
  });
}

/**
 * The minimal reference the benchmark measures Stampede against: on the same URLs, each
 * path doing only its essential work with the same libraries, and nothing else (no
 * validation schema, middleware, metrics, logs or response headers of its own).
 * - `GET /health/live`: a constant answer.
 * - `GET /events/:id/availability`: one Redis GET of the cached JSON, answered as stored.
 * - `POST /events/:id/purchases`: the JSON body read and parsed; a tier known sold out is answered
 *   409 after one Redis read (is this key a retry of an admitted purchase?); otherwise the
 *   gate's own Lua (core's `admit`), then a persistent publish confirmed by the broker on a
 *   quorum queue, then 202 with the purchase id.
 */
export function buildReferenceApp(d: ReferenceDeps): Hono<{ Bindings: HttpBindings }> {
  const app = new Hono<{ Bindings: HttpBindings }>();
  const soldOut = new Set<string>();
  const gate = createGate(d.redis, d.keys);

  app.get('/health/live', (c) => c.json({ status: 'ok' }));

  app.get('/events/:id/availability', async (c) => {
    const raw = await d.redis.get(d.keys.availability(c.req.param('id')));
    if (raw === null)
      return c.body(problem('event_not_found', 'Not found', 404, 'No cached availability.'), 404, problemHeaders());
    return c.body(raw, 200, { 'content-type': 'application/json' });
  });

  app.post('/events/:id/purchases', async (c) => {
    const eventId = c.req.param('id');
    const key = c.req.header('idempotency-key');
    const body = (await readJson(c.env.incoming)) as PurchaseBody;
    if (!key)
      return c.body(
        problem('validation_failed', 'Invalid request', 400, 'Idempotency-Key is required.'),
        400,
        problemHeaders(),
      );
    const soldOutAnswer = () =>
      c.body(problem('sold_out', 'Sold out', 409, `Tier ${body.tierId} is sold out.`), 409, problemHeaders());
    if (soldOut.has(body.tierId) && !(await d.redis.exists(d.keys.idempotency(key, eventId)))) return soldOutAnswer();

    const { purchaseId } = placePurchase(key, eventId, 1);
    const acceptedAt = new Date().toISOString();
    const requestId = c.req.header('x-request-id') ?? '';
    const outcome = await gate.admit({
      purchaseId,
      bucket: 0,
      buckets: 1,
      idempotencyKey: key,
      fingerprint: requestFingerprint({ eventId, ...body }),
      eventId,
      tierId: body.tierId,
      buyerId: body.buyerId,
      quantity: body.quantity,
      buyerLimit: d.buyerLimit,
      ttlSeconds: d.ttlSeconds,
      requestId,
      acceptedBy: d.instance,
      acceptedAt,
    });
    if (outcome.kind === 'sold_out') {
      soldOut.add(body.tierId);
      return soldOutAnswer();
    }
    if (outcome.kind !== 'admitted')
      return c.body(
        problem('conflict', 'Not admitted', 409, `The gate answered ${outcome.kind}.`),
        409,
        problemHeaders(),
      );
    const message: PurchaseMessage = {
      v: 1,
      purchaseId,
      idempotencyKey: key,
      eventId,
      tierId: body.tierId,
      buyerId: body.buyerId,
      quantity: body.quantity,
      requestId,
      acceptedBy: d.instance,
      acceptedAt,
      gated: true,
    };
    await d.publisher.publish(Buffer.from(JSON.stringify(message)), purchaseId);
    return c.json({ purchaseId, status: 'queued' }, 202);
  });

  return app;
}
