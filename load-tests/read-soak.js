/**
 * read-soak: availability reads at a steady arrival rate for minutes (constant-arrival-rate,
 * open model). Shows whether the cached read path holds its latency over time, how often
 * it is answered from the cache, and that it never serves stale figures while Postgres is up.
 *
 *   k6 run load-tests/read-soak.js -e SOAK_RATE=500 -e SOAK_DURATION=10m
 */

import { check } from 'k6';
import { Rate } from 'k6/metrics';
import { readConfig } from './lib/config.js';
import { baseThresholds, latencyThresholds, SUMMARY_TREND_STATS } from './lib/options.js';
import { header } from './lib/statuses.js';
import { summaryFiles } from './lib/summary.js';
import { checkAvailability, createApi, prepareRun } from './support/api.js';

const cfg = readConfig(__ENV);
const api = createApi(cfg);

const cacheHits = new Rate('availability_cache_hit');
const staleAnswers = new Rate('availability_stale');

export const options = {
  scenarios: {
    read: {
      executor: 'constant-arrival-rate',
      exec: 'read',
      rate: cfg.soak.rate,
      timeUnit: '1s',
      duration: cfg.soak.duration,
      preAllocatedVUs: Math.min(cfg.soak.preVUs, cfg.soak.maxVUs),
      maxVUs: cfg.soak.maxVUs,
      gracefulStop: '10s',
    },
  },
  thresholds: {
    ...baseThresholds(cfg.limits),
    ...latencyThresholds('availability', cfg.limits.readP95, cfg.limits.readP99),
    // The cache answers most reads (1 s fresh TTL, one miss per replica per second).
    availability_cache_hit: [`rate>=${cfg.soak.minHitRate}`],
    // With Postgres up, a stale answer means the read path is falling back when it should not.
    availability_stale: ['rate<0.01'],
  },
  summaryTrendStats: SUMMARY_TREND_STATS,
};

export function setup() {
  return prepareRun(api, cfg);
}

/** One availability read, as a buyer refreshing the page. */
export function read() {
  const res = api.availability();
  const body = checkAvailability(res);
  const cache = header(res, 'X-Cache');
  check(
    res,
    { 'X-Cache is hit, miss, bypass or stale': () => ['hit', 'miss', 'bypass', 'stale'].includes(cache) },
    { kind: 'availability' },
  );
  if (!body) return;
  cacheHits.add(cache === 'hit');
  staleAnswers.add(body.stale === true);
}

export function handleSummary(data) {
  const runId = data.setup_data?.runId || cfg.runId;
  return summaryFiles('read-soak', data, { resultsDir: cfg.resultsDir, runId, maxDropped: cfg.limits.maxDropped });
}
