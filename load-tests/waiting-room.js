/**
 * waiting-room: tens of thousands of arrivals in a few seconds, each polling until the room
 * releases it, then buying with its pass (docs/waiting-room.md).
 *
 * setup() turns the event's room on (ADMIN_TOKEN; the lab needs WAITING_ROOM_SECRET too)
 * at ROOM_RELEASE_PER_MINUTE. Each arrival joins, polls as the answer says
 * (pollAfterSeconds), and once admitted first tries to buy without its pass (must be 401:
 * a 2xx counts in purchases_without_pass) and then buys with it. An observer samples the
 * room's `released` count each second while buyers are waiting: the release rate it sees
 * must stay within 10 % of the setting. teardown() reads the tiers: nothing oversold.
 *
 *   k6 run -e ADMIN_TOKEN=… load-tests/waiting-room.js
 */

import { check, sleep } from 'k6';
import http from 'k6/http';
import { Counter, Gauge, Trend } from 'k6/metrics';
import { parseDuration, readConfig } from './lib/config.js';
import { SUMMARY_TREND_STATS } from './lib/options.js';
import { jsonBody } from './lib/statuses.js';

const cfg = readConfig(__ENV);
const env = (name, fallback) => (__ENV[name] === undefined || __ENV[name] === '' ? fallback : __ENV[name]);
const ARRIVALS = Number(env('ROOM_ARRIVALS', '20000'));
const ARRIVE_FOR_S = Math.max(1, Math.round(parseDuration(env('ROOM_ARRIVE_FOR', '5s')) / 1000));
const RATE = Number(env('ROOM_RELEASE_PER_MINUTE', '6000'));
const MAX_WAIT_MS = parseDuration(env('ROOM_MAX_WAIT', '10m'));
const POLL_P99_MS = Number(env('ROOM_POLL_P99_MS', '200'));
const ADMIN = env('ADMIN_TOKEN', '');

const base = `${cfg.baseUrl}/events/${cfg.eventId}`;
const roomUrl = `${base}/waiting-room`;
const adminUrl = `${cfg.baseUrl}/admin/events/${cfg.eventId}/waiting-room`;
const adminHeaders = { Authorization: `Bearer ${ADMIN}`, 'Content-Type': 'application/json' };

const pollDuration = new Trend('room_poll_duration', true);
const releaseRate = new Trend('room_release_per_minute');
const admitted = new Counter('room_admitted');
const gaveUp = new Counter('room_gave_up');
const withoutPass = new Counter('purchases_without_pass');
const bought = new Counter('purchases_with_pass');
const oversold = new Gauge('tickets_oversold');

const tolerance = RATE * 0.1;

export const options = {
  scenarios: {
    arrivals: {
      executor: 'constant-arrival-rate',
      exec: 'arrive',
      rate: Math.ceil(ARRIVALS / ARRIVE_FOR_S),
      timeUnit: '1s',
      duration: `${ARRIVE_FOR_S}s`,
      // One VU per arrival from the start: k6 adds VUs mid-run too slowly for a spike and drops
      // the arrivals it has no VU for (about 0.4 MB a VU: 20,000 arrivals need some 8 GB).
      preAllocatedVUs: ARRIVALS,
      maxVUs: ARRIVALS,
      gracefulStop: `${Math.ceil(MAX_WAIT_MS / 1000)}s`,
    },
    observer: {
      executor: 'per-vu-iterations',
      exec: 'observe',
      vus: 1,
      iterations: 1,
      maxDuration: `${Math.ceil(MAX_WAIT_MS / 1000) + ARRIVE_FOR_S}s`,
    },
  },
  thresholds: {
    room_poll_duration: [`p(99)<${POLL_P99_MS}`],
    room_release_per_minute: [`avg>=${RATE - tolerance}`, `avg<=${RATE + tolerance}`],
    purchases_without_pass: ['count==0'],
    tickets_oversold: ['value==0'],
    room_gave_up: ['count==0'],
  },
  summaryTrendStats: SUMMARY_TREND_STATS,
  setupTimeout: '30s',
  teardownTimeout: '60s',
};

export function setup() {
  const on = http.put(adminUrl, JSON.stringify({ enabled: true, releasePerMinute: RATE }), { headers: adminHeaders });
  if (on.status !== 204)
    throw new Error(`cannot turn the waiting room on: ${on.status} (ADMIN_TOKEN? WAITING_ROOM_SECRET?)`);
  const event = jsonBody(http.get(base));
  if (!event || !Array.isArray(event.tiers)) throw new Error(`cannot read event ${cfg.eventId}`);
  return { tierIds: event.tiers.map((t) => t.id) };
}

function buy(tierId, pass) {
  return http.post(`${base}/purchases`, JSON.stringify({ tierId, quantity: 1, buyerId: 'k6' }), {
    headers: {
      'Content-Type': 'application/json',
      'Idempotency-Key': `room-${Date.now()}-${Math.random().toString(36).slice(2)}`,
      ...(pass ? { Authorization: `Bearer ${pass}` } : {}),
    },
    tags: { kind: 'purchase' },
  });
}

/** One buyer: join, poll until released, try without the pass (refused), buy with it. */
export function arrive(run) {
  const joined = http.post(roomUrl, null, { tags: { kind: 'join' } });
  const token = check(joined, { 'joined the line (201)': (r) => r.status === 201 }) ? jsonBody(joined).token : null;
  if (!token) return;
  const deadline = Date.now() + MAX_WAIT_MS;
  let pass = null;
  while (!pass && Date.now() < deadline) {
    const res = http.get(`${roomUrl}?token=${token}`, { tags: { kind: 'poll', name: 'GET /events/:id/waiting-room' } });
    pollDuration.add(res.timings.duration);
    const body = jsonBody(res);
    if (res.status === 200 && body?.pass) pass = body.pass;
    else if (res.status === 202) sleep(Math.max(1, Number(body?.pollAfterSeconds) || 5));
    else break;
  }
  if (!pass) {
    gaveUp.add(1);
    return;
  }
  admitted.add(1);
  const tierId = run.tierIds[Math.floor(Math.random() * run.tierIds.length)];
  const refused = buy(tierId, null);
  if (refused.status < 300) withoutPass.add(1);
  check(refused, { 'a purchase without the pass is refused (401)': (r) => r.status === 401 });
  const res = buy(tierId, pass);
  if (res.status === 202) bought.add(1);
  check(res, {
    'a purchase with the pass is answered as designed (202, 409)': (r) => r.status === 202 || r.status === 409,
  });
}

/** Samples the room's released count each second while buyers wait: the release rate seen. */
export function observe() {
  const deadline = Date.now() + MAX_WAIT_MS + ARRIVE_FOR_S * 1000;
  let prev = null;
  let seenWaiting = false;
  while (Date.now() < deadline) {
    const s = jsonBody(http.get(adminUrl, { headers: adminHeaders, tags: { kind: 'admin' } }));
    const now = Date.now();
    if (s && typeof s.released === 'number') {
      // Only while the line was never empty between two samples: an empty line releases nobody.
      if (prev && prev.waiting > 0 && s.waiting > 0 && now > prev.at)
        releaseRate.add(((s.released - prev.released) * 60_000) / (now - prev.at));
      if (s.waiting > 0) seenWaiting = true;
      if (seenWaiting && s.waiting === 0) break;
      prev = { released: s.released, waiting: s.waiting, at: now };
    }
    sleep(1);
  }
}

export function teardown() {
  const event = jsonBody(http.get(base));
  let over = 0;
  for (const t of event?.tiers || []) over += Math.max(0, t.sold - t.capacity);
  oversold.add(over);
  http.put(adminUrl, JSON.stringify({ enabled: false }), { headers: adminHeaders });
}

export function handleSummary(data) {
  const m = data.metrics;
  const val = (name, key) => m[name]?.values?.[key];
  const lines = [
    `waiting-room: ${val('room_admitted', 'count') ?? 0} admitted, ${val('room_gave_up', 'count') ?? 0} gave up`,
    `  poll p99 ${val('room_poll_duration', 'p(99)')} ms; release ${val('room_release_per_minute', 'avg')}/min (set ${RATE})`,
    `  purchases without a pass accepted: ${val('purchases_without_pass', 'count') ?? 0}; oversold: ${val('tickets_oversold', 'value') ?? 0}`,
  ];
  const out = { stdout: `${lines.join('\n')}\n` };
  if (cfg.resultsDir) out[`${cfg.resultsDir}/waiting-room-summary.json`] = JSON.stringify(data, null, 2);
  return out;
}
