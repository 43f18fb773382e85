/**
 * Settings of the k6 scripts, read from `__ENV` (k6) or any plain object (Node tests).
 * Pure module: no k6 imports, so vitest can check the same code k6 runs.
 *
 * Every variable has a default that suits a laptop running the whole lab; README.md lists
 * them all. A bad value throws at init, so k6 stops before sending a single request
 * instead of measuring something nobody asked for.
 */

export const DEMO_EVENT_ID = '00000000-0000-4000-8000-00000000c0de';

/** Every environment variable the scripts read, with its default (strings, as k6 passes them). */
export const ENV_DEFAULTS = Object.freeze({
  BASE_URL: 'http://localhost:8080',
  EVENT_ID: DEMO_EVENT_ID,
  RESULTS_DIR: 'results',
  RUN_ID: '',
  LOG_ACCEPTED: 'true',
  MAX_QUANTITY: '4',
  BUYER_POOL: '0',
  REQUEST_TIMEOUT: '10s',
  STATUS_SHARE: '0.1',
  // thresholds
  READ_P95_MS: '100',
  READ_P99_MS: '250',
  BUY_P95_MS: '300',
  BUY_P99_MS: '800',
  MAX_FAILED_RATE: '0.01',
  MIN_CHECKS_RATE: '0.99',
  MAX_DROPPED: '10',
  ABORT_DELAY: '10s',
  // spike.js
  SPIKE_READ_CALM: '20',
  SPIKE_READ_PEAK: '300',
  SPIKE_BUY_CALM: '5',
  SPIKE_BUY_PEAK: '100',
  SPIKE_CALM_FOR: '10s',
  SPIKE_RAMP_FOR: '5s',
  SPIKE_HOLD_FOR: '30s',
  SPIKE_COOL_FOR: '10s',
  // Pre-allocated for the peak: a VU made mid-spike takes long to init on 2 cores, and
  // the iterations that wait for it are dropped (20 dropped 21 on its first 2-core run).
  SPIKE_PRE_VUS: '100',
  SPIKE_MAX_VUS: '500',
  // read-soak.js
  SOAK_RATE: '200',
  SOAK_DURATION: '5m',
  SOAK_PRE_VUS: '10',
  SOAK_MAX_VUS: '100',
  SOAK_MIN_HIT_RATE: '0.8',
  // sellout.js
  SELLOUT_VUS: '20',
  SELLOUT_MAX_DURATION: '5m',
  SELLOUT_DRAIN_TIMEOUT: '60s',
  // smoke.js
  SMOKE_STATUS_TIMEOUT: '10s',
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DURATION = /^(\d+h)?(\d+m(?!s))?(\d+s)?(\d+ms)?$/;
const UNIT_MS = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1 };

/** Milliseconds of a k6 duration string such as `90s`, `5m`, `1m30s` or `250ms`. */
export function parseDuration(text) {
  const value = String(text).trim();
  if (value === '' || !DURATION.test(value)) throw new Error(`"${text}" is not a duration like 30s, 5m or 1m30s`);
  const part = /(\d+)(ms|h|m|s)/g;
  let ms = 0;
  for (let m = part.exec(value); m !== null; m = part.exec(value)) ms += Number(m[1]) * UNIT_MS[m[2]];
  return ms;
}

/** The env value of `name`, or its default when unset or empty. */
function raw(env, name) {
  const v = env[name];
  return v === undefined || v === null || String(v).trim() === '' ? ENV_DEFAULTS[name] : String(v).trim();
}

function number(env, name, { min = 0, max = Number.MAX_SAFE_INTEGER, integer = true } = {}) {
  const text = raw(env, name);
  const n = Number(text);
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min || n > max) {
    throw new Error(`${name}=${text} must be ${integer ? 'an integer' : 'a number'} in ${min}..${max}`);
  }
  return n;
}

function duration(env, name) {
  const text = raw(env, name);
  try {
    parseDuration(text);
  } catch (err) {
    throw new Error(`${name}: ${err.message}`);
  }
  return text;
}

function flag(env, name) {
  const text = raw(env, name).toLowerCase();
  if (!['true', 'false', '1', '0'].includes(text)) throw new Error(`${name}=${text} must be true or false`);
  return text === 'true' || text === '1';
}

function baseUrl(env) {
  const text = raw(env, 'BASE_URL').replace(/\/+$/, '');
  if (!/^https?:\/\/[^/\s]+/.test(text)) throw new Error(`BASE_URL=${text} must be an http(s) URL`);
  return text;
}

function uuid(env, name) {
  const text = raw(env, name);
  if (!UUID.test(text)) throw new Error(`${name}=${text} must be a UUID`);
  return text.toLowerCase();
}

/**
 * The typed settings of one run.
 * @param {Record<string, string|undefined>} env `__ENV` in k6, a plain object in tests
 */
export function readConfig(env = {}) {
  return {
    baseUrl: baseUrl(env),
    eventId: uuid(env, 'EVENT_ID'),
    resultsDir: raw(env, 'RESULTS_DIR').replace(/\/+$/, ''),
    runId: raw(env, 'RUN_ID'),
    logAccepted: flag(env, 'LOG_ACCEPTED'),
    // The API takes 1..6 per purchase and 6 per buyer per event; never ask for more.
    maxQuantity: number(env, 'MAX_QUANTITY', { min: 1, max: 6 }),
    buyerPool: number(env, 'BUYER_POOL'),
    requestTimeout: duration(env, 'REQUEST_TIMEOUT'),
    statusShare: number(env, 'STATUS_SHARE', { max: 1, integer: false }),
    limits: {
      readP95: number(env, 'READ_P95_MS', { min: 1 }),
      readP99: number(env, 'READ_P99_MS', { min: 1 }),
      buyP95: number(env, 'BUY_P95_MS', { min: 1 }),
      buyP99: number(env, 'BUY_P99_MS', { min: 1 }),
      maxFailedRate: number(env, 'MAX_FAILED_RATE', { max: 1, integer: false }),
      minChecksRate: number(env, 'MIN_CHECKS_RATE', { max: 1, integer: false }),
      maxDropped: number(env, 'MAX_DROPPED'),
      abortDelay: duration(env, 'ABORT_DELAY'),
    },
    spike: {
      readCalm: number(env, 'SPIKE_READ_CALM'),
      readPeak: number(env, 'SPIKE_READ_PEAK', { min: 1 }),
      buyCalm: number(env, 'SPIKE_BUY_CALM'),
      buyPeak: number(env, 'SPIKE_BUY_PEAK', { min: 1 }),
      calmFor: duration(env, 'SPIKE_CALM_FOR'),
      rampFor: duration(env, 'SPIKE_RAMP_FOR'),
      holdFor: duration(env, 'SPIKE_HOLD_FOR'),
      coolFor: duration(env, 'SPIKE_COOL_FOR'),
      preVUs: number(env, 'SPIKE_PRE_VUS', { min: 1 }),
      maxVUs: number(env, 'SPIKE_MAX_VUS', { min: 1 }),
    },
    soak: {
      rate: number(env, 'SOAK_RATE', { min: 1 }),
      duration: duration(env, 'SOAK_DURATION'),
      preVUs: number(env, 'SOAK_PRE_VUS', { min: 1 }),
      maxVUs: number(env, 'SOAK_MAX_VUS', { min: 1 }),
      minHitRate: number(env, 'SOAK_MIN_HIT_RATE', { max: 1, integer: false }),
    },
    sellout: {
      vus: number(env, 'SELLOUT_VUS', { min: 1 }),
      maxDuration: duration(env, 'SELLOUT_MAX_DURATION'),
      drainTimeout: duration(env, 'SELLOUT_DRAIN_TIMEOUT'),
    },
    smoke: { statusTimeout: duration(env, 'SMOKE_STATUS_TIMEOUT') },
  };
}

/** The API's URLs for one base and event. */
export function apiUrls(base, eventId) {
  return {
    events: `${base}/events`,
    event: `${base}/events/${eventId}`,
    availability: `${base}/events/${eventId}/availability`,
    purchases: `${base}/events/${eventId}/purchases`,
    purchase: (purchaseId) => `${base}/purchases/${purchaseId}`,
  };
}
