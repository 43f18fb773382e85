/**
 * An in-memory Stampede that answers like the API contract (docs/architecture.md), so the
 * k6 scripts' logic can run in Node: a stock gate per tier, the buyer limit, idempotent
 * keys, and a "worker" that decides a queued purchase when its status is read.
 * Knobs make it misbehave on purpose (rate limiting, rejections, overselling).
 */
import { randomUUID } from 'node:crypto';
import type { FakeRequest, FakeResponse } from './fake-k6.js';

export interface FakeOptions {
  eventId: string;
  capacities: number[];
  /** Answer every Nth purchase 429, as the nginx edge limit does. */
  rateLimitEvery?: number;
  /** Reject every Nth decided purchase (payment failure): its tickets go back. */
  rejectEvery?: number;
  /** Report this many extra tickets sold in one tier (an oversell the scripts must catch). */
  oversell?: number;
}

interface Purchase {
  id: string;
  key: string;
  tierId: string;
  quantity: number;
  buyerId: string;
  status: 'queued' | 'confirmed' | 'rejected';
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}): FakeResponse => ({
  status,
  headers: { 'Content-Type': 'application/json', ...headers },
  body: JSON.stringify(body),
});
const problem = (status: number, code: string) =>
  json(status, { type: `https://stampede.dev/problems/${code}`, title: code, status, detail: code, code });

export function createFakeStampede(o: FakeOptions) {
  const tiers = o.capacities.map((capacity, i) => ({
    id: randomUUID(),
    name: `T${i}`,
    priceCents: 1000,
    capacity,
    sold: 0,
  }));
  const stock = new Map(tiers.map((t) => [t.id, t.capacity]));
  const byKey = new Map<string, Purchase>();
  const byId = new Map<string, Purchase>();
  const held = new Map<string, number>();
  let posts = 0;
  let decided = 0;

  function decide(p: Purchase) {
    decided += 1;
    const tier = tiers.find((t) => t.id === p.tierId)!;
    if (o.rejectEvery && decided % o.rejectEvery === 0) {
      p.status = 'rejected';
      stock.set(tier.id, stock.get(tier.id)! + p.quantity);
    } else {
      p.status = 'confirmed';
      tier.sold += p.quantity;
    }
  }

  function purchase(req: FakeRequest): FakeResponse {
    posts += 1;
    if (o.rateLimitEvery && posts % o.rateLimitEvery === 0) return problem(429, 'rate_limited');
    const key = req.headers['Idempotency-Key'] ?? '';
    if (!/^[A-Za-z0-9_-]{1,128}$/.test(key)) return problem(400, 'idempotency_key_invalid');
    const body = JSON.parse(req.body ?? 'null');
    const tier = tiers.find((t) => t.id === body?.tierId);
    if (!tier) return problem(404, 'tier_not_found');
    if (!Number.isInteger(body.quantity) || body.quantity < 1 || body.quantity > 6)
      return problem(400, 'validation_failed');
    const existing = byKey.get(key);
    if (existing)
      return json(existing.status === 'queued' ? 202 : 200, {
        purchaseId: existing.id,
        status: existing.status,
        statusUrl: `/purchases/${existing.id}`,
      });
    if (stock.get(tier.id)! < body.quantity) return problem(409, 'sold_out');
    if ((held.get(body.buyerId) ?? 0) + body.quantity > 6) return problem(409, 'limit_exceeded');
    stock.set(tier.id, stock.get(tier.id)! - body.quantity);
    held.set(body.buyerId, (held.get(body.buyerId) ?? 0) + body.quantity);
    const p: Purchase = {
      id: randomUUID(),
      key,
      tierId: tier.id,
      quantity: body.quantity,
      buyerId: body.buyerId,
      status: 'queued',
    };
    byKey.set(key, p);
    byId.set(p.id, p);
    return json(
      202,
      { purchaseId: p.id, status: 'queued', statusUrl: `/purchases/${p.id}` },
      { Location: `/purchases/${p.id}` },
    );
  }

  function availability() {
    const view = tiers.map((t) => ({
      tierId: t.id,
      name: t.name,
      capacity: t.capacity,
      remaining: t.capacity - t.sold,
      soldOut: t.capacity - t.sold <= 0,
    }));
    return json(
      200,
      {
        eventId: o.eventId,
        soldOut: view.every((t) => t.soldOut),
        asOf: new Date().toISOString(),
        stale: false,
        tiers: view,
      },
      { 'X-Cache': 'hit', 'X-Served-By': 'api-1' },
    );
  }

  function handler(req: FakeRequest): FakeResponse {
    const path = new URL(req.url).pathname;
    const ev = `/events/${o.eventId}`;
    if (req.method === 'GET' && path === '/events') return json(200, { events: [{ id: o.eventId, name: 'Fake' }] });
    if (req.method === 'GET' && path === ev) {
      const shown = tiers.map((t, i) => ({ ...t, sold: t.sold + (i === 0 ? (o.oversell ?? 0) : 0) }));
      return json(200, { id: o.eventId, name: 'Fake', tiers: shown });
    }
    if (req.method === 'GET' && path === `${ev}/availability`) return availability();
    if (req.method === 'POST' && path === `${ev}/purchases`) return purchase(req);
    const status = /^\/purchases\/([0-9a-f-]{36})$/.exec(path);
    if (req.method === 'GET' && status) {
      const p = byId.get(status[1]!);
      if (!p) return problem(404, 'purchase_not_found');
      if (p.status === 'queued') decide(p);
      return json(200, {
        purchaseId: p.id,
        status: p.status,
        reason: p.status === 'rejected' ? 'payment_failed' : null,
      });
    }
    return problem(404, 'not_found');
  }

  return { handler, tiers, purchases: byId, stock };
}
