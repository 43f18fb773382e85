/**
 * sellout: buyers keep buying until every tier is sold out, then the run proves through
 * the API that nothing was oversold.
 *
 * Each VU is a persistent buyer (one long iteration, closed loop): it buys, learns from
 * 409 sold_out which tiers are gone, backs off on 429/503, and when it sees everything sold
 * out it waits for its own purchases to be decided and re-reads availability (a rejected
 * purchase gives tickets back). It stops when the house is sold out or SELLOUT_MAX_DURATION
 * runs out. An open-model executor would keep firing at a sold-out house until its duration
 * ends; this one ends when the job is done.
 *
 * teardown() waits for the backlog to drain, then checks: every tier remaining == 0, no
 * tier sold beyond capacity, capacity − remaining == sold. Every 202 this run saw must reach
 * a final state (purchases_unresolved == 0). The summary also compares the tickets this run
 * saw confirmed with the API's sold delta.
 *
 *   k6 run load-tests/sellout.js   (after `npm run migrate -- --seed`, which refills the house)
 */

import { check, sleep } from 'k6';
import { Counter, Gauge } from 'k6/metrics';
import { parseDuration, readConfig } from './lib/config.js';
import { baseThresholds, latencyThresholds, SUMMARY_TREND_STATS } from './lib/options.js';
import { tiersOf } from './lib/payload.js';
import { createSelloutPlan, inventory } from './lib/sellout.js';
import { DESIGNED_OUTCOMES, FINAL_STATES, jsonBody, retryAfterSeconds } from './lib/statuses.js';
import { summaryFiles } from './lib/summary.js';
import { checkAvailability, checkStatus, createApi, iterationIds, prepareRun, recordPurchase } from './support/api.js';

const cfg = readConfig(__ENV);
const api = createApi(cfg);
const maxMs = parseDuration(cfg.sellout.maxDuration);
const drainMs = parseDuration(cfg.sellout.drainTimeout);
// Time kept at the end of the buying window for each VU to learn what became of its purchases.
const settleMs = Math.min(30_000, Math.floor(maxMs / 4));

const confirmed = new Counter('purchases_confirmed');
const rejected = new Counter('purchases_rejected');
const unresolved = new Counter('purchases_unresolved');
const ticketsConfirmed = new Counter('tickets_confirmed');
const gauges = {};
for (const name of [
  'tickets_sold_start',
  'tickets_sold_final',
  'tickets_capacity',
  'tickets_remaining_final',
  'tickets_oversold',
  'inventory_mismatch',
]) {
  gauges[name] = new Gauge(name);
}

export const options = {
  scenarios: {
    sellout: {
      executor: 'per-vu-iterations',
      exec: 'sellout',
      vus: cfg.sellout.vus,
      iterations: 1,
      maxDuration: cfg.sellout.maxDuration,
      gracefulStop: '30s',
    },
  },
  thresholds: {
    ...baseThresholds(cfg.limits),
    ...latencyThresholds('purchase', cfg.limits.buyP95, cfg.limits.buyP99),
    // The verdict of teardown(): sold out, not oversold, the API's figures agree.
    'checks{kind:verify}': ['rate==1'],
    tickets_oversold: ['value==0'],
    // No lost purchase: every 202 this run saw was confirmed or rejected in time.
    purchases_unresolved: ['count==0'],
  },
  summaryTrendStats: SUMMARY_TREND_STATS,
  setupTimeout: '30s',
  teardownTimeout: `${Math.ceil(drainMs / 1000) + 30}s`,
};

export function setup() {
  return prepareRun(api, cfg);
}

/** Polls pending purchases once; records and drops the decided ones. */
function settleRound(pending) {
  for (let i = pending.length - 1; i >= 0; i -= 1) {
    const state = checkStatus(api.status(pending[i].id));
    if (!FINAL_STATES.includes(state)) continue;
    if (state === 'confirmed') {
      confirmed.add(1);
      ticketsConfirmed.add(pending[i].quantity);
    } else {
      rejected.add(1);
    }
    pending.splice(i, 1);
  }
}

function settle(pending, until) {
  settleRound(pending);
  while (pending.length > 0 && Date.now() < until) {
    sleep(0.25);
    settleRound(pending);
  }
}

/** One persistent buyer (see the header comment). */
export function sellout(run) {
  const started = Date.now();
  const buyUntil = started + maxMs - settleMs;
  const plan = createSelloutPlan(run.tiers, cfg.maxQuantity);
  const pending = [];
  let n = 0;
  while (Date.now() < buyUntil) {
    const next = plan.next(Math.random(), Math.random());
    if (!next) {
      settle(pending, buyUntil);
      sleep(1); // the availability cache is fresh for 1 s
      const availability = checkAvailability(api.availability());
      if (availability && !availability.stale && availability.soldOut) break;
      if (availability && !availability.stale) plan.reopen(availability.tiers);
      continue;
    }
    const { key, buyerId } = iterationIds(run.runId, cfg, n);
    n += 1;
    const payload = { tierId: next.tier.id, quantity: next.quantity, buyerId };
    const res = api.purchase(payload, key);
    const result = recordPurchase(res, payload, key, cfg);
    plan.observe(next.tier.id, next.quantity, result.outcome);
    if (result.purchaseId) pending.push({ id: result.purchaseId, quantity: payload.quantity });
    if (result.outcome === 'rate_limited') sleep(0.1 + Math.random() * 0.2);
    else if (result.outcome === 'unavailable') sleep(retryAfterSeconds(res));
    else if (!DESIGNED_OUTCOMES.includes(result.outcome)) sleep(0.5);
  }
  settle(pending, started + maxMs);
  unresolved.add(pending.length);
}

/** Reads the inventory until the backlog drained (sold stops moving, reads agree) or time is up. */
function drainedInventory() {
  const until = Date.now() + drainMs;
  let last;
  let previousSold = -1;
  for (;;) {
    const event = jsonBody(api.getEvent());
    const availability = jsonBody(api.availability());
    if (event && availability && Array.isArray(availability.tiers) && !availability.stale) {
      last = inventory(tiersOf(event), availability.tiers);
      if (last.mismatch === 0 && last.sold === previousSold) return last;
      previousSold = last.sold;
    }
    if (Date.now() >= until) return last;
    sleep(1.5); // longer than the availability cache's fresh TTL, so each read is new
  }
}

export function teardown(run) {
  const inv = drainedInventory();
  gauges.tickets_sold_start.add(run.tiers.reduce((total, t) => total + t.sold, 0));
  if (inv) {
    gauges.tickets_sold_final.add(inv.sold);
    gauges.tickets_capacity.add(inv.capacity);
    gauges.tickets_remaining_final.add(inv.remaining);
    gauges.tickets_oversold.add(inv.oversold);
    gauges.inventory_mismatch.add(inv.mismatch);
  }
  check(
    inv,
    {
      'sold out: every tier has 0 remaining': (i) => !!i && i.soldOut,
      'not oversold: sold <= capacity in every tier': (i) => !!i && i.oversold === 0,
      'capacity - remaining == sold (confirmed) in every tier': (i) => !!i && i.mismatch === 0,
    },
    { kind: 'verify' },
  );
}

export function handleSummary(data) {
  const runId = data.setup_data?.runId || cfg.runId;
  return summaryFiles('sellout', data, { resultsDir: cfg.resultsDir, runId, maxDropped: cfg.limits.maxDropped });
}
