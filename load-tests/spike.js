/**
 * spike: a flash sale in the open model. Two ramping-arrival-rate scenarios share one
 * timeline: `browse` (availability reads) and `buy` (purchases with a new buyer and
 * Idempotency-Key each), both calm, then a steep ramp to the peak, held, then calm again.
 * Arrivals do not wait for answers, so a slow system faces a growing crowd, as in a real
 * sale; when k6 itself cannot keep up it drops iterations and the summary says the run is
 * invalid.
 *
 *   k6 run load-tests/spike.js -e BASE_URL=http://localhost:8080 -e SPIKE_BUY_PEAK=200
 */

import { readConfig } from './lib/config.js';
import { baseThresholds, latencyThresholds, rampingArrivals, SUMMARY_TREND_STATS } from './lib/options.js';
import { pickQuantity, pickTier } from './lib/payload.js';
import { summaryFiles } from './lib/summary.js';
import { checkAvailability, checkStatus, createApi, iterationIds, prepareRun, recordPurchase } from './support/api.js';

const cfg = readConfig(__ENV);
const api = createApi(cfg);
const s = cfg.spike;
const timeline = { calmFor: s.calmFor, rampFor: s.rampFor, holdFor: s.holdFor, coolFor: s.coolFor };

export const options = {
  scenarios: {
    browse: rampingArrivals({
      exec: 'browse',
      calm: s.readCalm,
      peak: s.readPeak,
      stages: timeline,
      preVUs: s.preVUs,
      maxVUs: s.maxVUs,
    }),
    buy: rampingArrivals({
      exec: 'buy',
      calm: s.buyCalm,
      peak: s.buyPeak,
      stages: timeline,
      preVUs: s.preVUs,
      maxVUs: s.maxVUs,
    }),
  },
  thresholds: {
    ...baseThresholds(cfg.limits),
    ...latencyThresholds('availability', cfg.limits.readP95, cfg.limits.readP99),
    ...latencyThresholds('purchase', cfg.limits.buyP95, cfg.limits.buyP99),
    ...latencyThresholds('status', cfg.limits.readP95, cfg.limits.readP99),
  },
  summaryTrendStats: SUMMARY_TREND_STATS,
  setupTimeout: '30s',
};

export function setup() {
  return prepareRun(api, cfg);
}

/** A buyer refreshing the page: one availability read. */
export function browse() {
  checkAvailability(api.availability());
}

/** A buyer pressing "buy"; a share of the accepted ones then looks at their purchase. */
export function buy(run) {
  const { key, buyerId } = iterationIds(run.runId, cfg);
  const payload = {
    tierId: pickTier(run.tiers, Math.random()).id,
    quantity: pickQuantity(Math.random(), cfg.maxQuantity),
    buyerId,
  };
  const result = recordPurchase(api.purchase(payload, key), payload, key, cfg);
  if (result.purchaseId && Math.random() < cfg.statusShare) checkStatus(api.status(result.purchaseId));
}

export function handleSummary(data) {
  const runId = data.setup_data?.runId || cfg.runId;
  return summaryFiles('spike', data, { resultsDir: cfg.resultsDir, runId, maxDropped: cfg.limits.maxDropped });
}
