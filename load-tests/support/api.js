/**
 * The Stampede API as the k6 scripts call it: every request tagged with its `kind` (for
 * per-kind thresholds) and a `name` (so /purchases/<uuid> is one URL group, not thousands),
 * every response judged against the statuses its kind may answer by design.
 *
 * k6-only (imports k6 modules); the pure logic it applies lives in ../lib and is unit-tested.
 */

import { check, sleep } from 'k6';
import exec from 'k6/execution';
import http from 'k6/http';
import { Counter } from 'k6/metrics';
import { apiUrls, parseDuration } from '../lib/config.js';
import { buyerId, idempotencyKey, resolveRunId } from '../lib/ids.js';
import { purchaseBody, tiersOf } from '../lib/payload.js';
import {
  DESIGNED_OUTCOMES,
  EXPECTED_STATUSES,
  FINAL_STATES,
  header,
  jsonBody,
  KINDS,
  PURCHASE_STATES,
  purchaseOutcome,
} from '../lib/statuses.js';
import { acceptedLine, OUTCOME_COUNTERS, outcomeMetric } from '../lib/summary.js';

// Created once in the init context, as k6 recommends, and shared by every request.
const expected = {};
for (const kind of KINDS) expected[kind] = http.expectedStatuses(...EXPECTED_STATUSES[kind]);

const outcomes = {};
for (const outcome of OUTCOME_COUNTERS) outcomes[outcome] = new Counter(outcomeMetric(outcome));
const ticketsAccepted = new Counter('tickets_accepted');

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The HTTP calls of the API, bound to one base URL and event. */
export function createApi(cfg) {
  const urls = apiUrls(cfg.baseUrl, cfg.eventId);
  const params = (kind, name, extra) => ({
    tags: { kind, name },
    responseCallback: expected[kind],
    timeout: cfg.requestTimeout,
    ...extra,
  });
  return {
    urls,
    listEvents: () => http.get(urls.events, params('events', 'GET /events')),
    getEvent: () => http.get(urls.event, params('event', 'GET /events/:id')),
    availability: () => http.get(urls.availability, params('availability', 'GET /events/:id/availability')),
    status: (purchaseId) => http.get(urls.purchase(purchaseId), params('status', 'GET /purchases/:id')),
    purchase: (payload, key) =>
      http.post(
        urls.purchases,
        purchaseBody(payload),
        params('purchase', 'POST /events/:id/purchases', {
          headers: { 'Content-Type': 'application/json', 'Idempotency-Key': key },
        }),
      ),
  };
}

/**
 * setup(): the run id and the event's tiers. Throws (and so stops k6 before any load)
 * when the event cannot be read: a run against the wrong URL or event measures nothing.
 */
export function prepareRun(api, cfg) {
  const res = api.getEvent();
  const event = jsonBody(res);
  if (res.status !== 200 || !event || tiersOf(event).length === 0) {
    throw new Error(
      `cannot read event ${cfg.eventId} at ${cfg.baseUrl} (status ${res.status}); is the lab up and seeded?`,
    );
  }
  const runId = resolveRunId(cfg.runId, Date.now(), Math.random());
  console.log(`RUN ${runId} event ${cfg.eventId} at ${cfg.baseUrl}`);
  return { runId, tiers: tiersOf(event) };
}

/** Key and buyer of the current iteration (unique per VU and iteration in the test). */
export function iterationIds(runId, cfg, iteration = exec.scenario.iterationInTest) {
  const at = { runId, scenario: exec.scenario.name, vu: exec.vu.idInTest, iteration };
  return { key: idempotencyKey(at), buyerId: buyerId({ ...at, pool: cfg.buyerPool }) };
}

/** Checks an availability answer; returns its body (null when unusable). */
export function checkAvailability(res) {
  const body = jsonBody(res);
  const tiers = body && Array.isArray(body.tiers) ? body.tiers : [];
  check(
    res,
    {
      'availability is 200': (r) => r.status === 200,
      'availability lists tiers with 0 <= remaining <= capacity': () =>
        tiers.length > 0 &&
        tiers.every((t) => Number.isInteger(t.remaining) && t.remaining >= 0 && t.remaining <= t.capacity),
    },
    { kind: 'availability' },
  );
  return res.status === 200 && tiers.length > 0 ? body : null;
}

/**
 * Counts and checks a purchase answer; logs an ACCEPTED line for every 202 so the run's
 * accepted purchase ids can be collected (see README.md).
 * @returns {{outcome: string, purchaseId?: string}}
 */
export function recordPurchase(res, payload, key, cfg) {
  const body = jsonBody(res);
  const outcome = purchaseOutcome(res.status, res.status >= 400 ? body : null);
  outcomes[outcome].add(1);
  const named = body && typeof body.purchaseId === 'string' && UUID.test(body.purchaseId);
  const checks = {
    'purchase answered as designed (202, 409 sold_out/limit_exceeded, 429)': () => DESIGNED_OUTCOMES.includes(outcome),
  };
  if (outcome === 'accepted') {
    checks['202 names its purchase, queued, with Location'] = () =>
      named && body.status === 'queued' && String(header(res, 'Location') || '').endsWith(body.purchaseId);
  }
  check(res, checks, { kind: 'purchase' });
  if (outcome !== 'accepted' || !named) return { outcome };
  ticketsAccepted.add(payload.quantity);
  if (cfg.logAccepted) console.log(acceptedLine(body.purchaseId, key));
  return { outcome, purchaseId: body.purchaseId };
}

/** Reads and checks a purchase's status; returns it (undefined when unreadable). */
export function checkStatus(res) {
  const body = jsonBody(res);
  const state = body ? body.status : undefined;
  check(
    res,
    {
      'status is readable: queued, confirmed or rejected': () => res.status === 200 && PURCHASE_STATES.includes(state),
    },
    { kind: 'status' },
  );
  return res.status === 200 ? state : undefined;
}

/**
 * Polls a purchase until the worker decided it or `timeout` passed.
 * @returns {string|undefined} the last state seen
 */
export function waitForFinal(api, purchaseId, timeout, pollSeconds = 0.25) {
  const until = Date.now() + parseDuration(timeout);
  let state = checkStatus(api.status(purchaseId));
  while (!FINAL_STATES.includes(state) && Date.now() < until) {
    sleep(pollSeconds);
    state = checkStatus(api.status(purchaseId));
  }
  return state;
}
