/**
 * smoke: a few seconds, one buyer, proves the lab answers end to end: the event list, the
 * event, its availability, one purchase (202 or, on a sold-out house, 409 sold_out), the
 * same Idempotency-Key answering the same purchase, and the purchase reaching a final state.
 *
 *   k6 run load-tests/smoke.js -e BASE_URL=http://localhost:8080
 */

import { check } from 'k6';
import { readConfig } from './lib/config.js';
import { SUMMARY_TREND_STATS } from './lib/options.js';
import { pickTier } from './lib/payload.js';
import { FINAL_STATES, jsonBody } from './lib/statuses.js';
import { summaryFiles } from './lib/summary.js';
import {
  checkAvailability,
  checkStatus,
  createApi,
  iterationIds,
  prepareRun,
  recordPurchase,
  waitForFinal,
} from './support/api.js';

const cfg = readConfig(__ENV);
const api = createApi(cfg);

export const options = {
  scenarios: {
    smoke: { executor: 'per-vu-iterations', exec: 'smoke', vus: 1, iterations: 1, maxDuration: '1m' },
  },
  thresholds: {
    // A smoke test has no noise to forgive: every check passes and no answer is unexpected.
    checks: ['rate==1'],
    http_req_failed: ['rate==0'],
    'http_req_duration{kind:availability}': ['p(95)<1000'],
    'http_req_duration{kind:purchase}': ['p(95)<2000'],
  },
  summaryTrendStats: SUMMARY_TREND_STATS,
};

export function setup() {
  return prepareRun(api, cfg);
}

export function smoke(run) {
  const list = jsonBody(api.listEvents());
  check(
    list,
    {
      'the event list names the event': (b) =>
        !!b && Array.isArray(b.events) && b.events.some((e) => e.id === cfg.eventId),
    },
    { kind: 'events' },
  );

  const event = jsonBody(api.getEvent());
  check(
    event,
    {
      'the event has tiers with 0 <= sold <= capacity': (e) =>
        !!e &&
        Array.isArray(e.tiers) &&
        e.tiers.length > 0 &&
        e.tiers.every((t) => t.sold >= 0 && t.sold <= t.capacity),
    },
    { kind: 'event' },
  );

  const availability = checkAvailability(api.availability());
  const open = availability
    ? availability.tiers.filter((t) => t.remaining > 0).map((t) => ({ id: t.tierId, capacity: t.remaining }))
    : [];
  // On a sold-out house the purchase must still be answered, by a fast 409 sold_out.
  const tier = open.length ? pickTier(open, Math.random()) : run.tiers[0];
  const { key, buyerId } = iterationIds(run.runId, cfg);
  const payload = { tierId: tier.id, quantity: 1, buyerId };
  const first = recordPurchase(api.purchase(payload, key), payload, key, cfg);
  check(
    first,
    { 'the purchase was accepted or answered sold out': (p) => p.outcome === 'accepted' || p.outcome === 'sold_out' },
    { kind: 'purchase' },
  );
  if (!first.purchaseId) return;

  const again = jsonBody(api.purchase(payload, key));
  check(
    again,
    { 'the same Idempotency-Key answers the same purchase': (b) => !!b && b.purchaseId === first.purchaseId },
    { kind: 'purchase' },
  );

  checkStatus(api.status(first.purchaseId));
  const state = waitForFinal(api, first.purchaseId, cfg.smoke.statusTimeout);
  check(
    state,
    { 'the purchase reached a final state (is the worker running?)': (s) => FINAL_STATES.includes(s) },
    { kind: 'status' },
  );
}

export function handleSummary(data) {
  const runId = data.setup_data?.runId || cfg.runId;
  return summaryFiles('smoke', data, { resultsDir: cfg.resultsDir, runId, maxDropped: 0 });
}
