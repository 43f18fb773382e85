import { describe, expect, it } from 'vitest';
import { DEMO_EVENT_ID, ENV_DEFAULTS, parseDuration, readConfig } from '../lib/config.js';
import { BUYER_PATTERN, buyerId, idempotencyKey, KEY_PATTERN, newRunId, resolveRunId } from '../lib/ids.js';
import { baseThresholds, flashSaleStages, latencyThresholds, rampingArrivals } from '../lib/options.js';
import { pickQuantity, pickTier, purchaseBody, purchaseProblems } from '../lib/payload.js';
import { createSelloutPlan, inventory } from '../lib/sellout.js';
import { EXPECTED_STATUSES, isExpectedStatus, purchaseOutcome, retryAfterSeconds } from '../lib/statuses.js';

const TIER = '00000000-0000-4000-8000-0000000000a1';

describe('spike.js defaults', () => {
  it('when spike.js runs with its defaults, then each scenario has its peak VUs pre-allocated (none made mid-spike, which drops iterations on 2 cores)', () => {
    const { spike } = readConfig({});
    // Little's law: arrivals/s × seconds per iteration; 250 ms is a slow answer under a spike.
    const needed = Math.ceil(Math.max(spike.readPeak, spike.buyPeak) * 0.25);
    expect(spike.preVUs).toBeGreaterThanOrEqual(needed);
    expect(spike.maxVUs).toBeGreaterThanOrEqual(4 * spike.preVUs);
  });
});

describe('config from the environment', () => {
  it('when nothing is set, then the defaults point at the local lab and the demo event', () => {
    const cfg = readConfig({});
    expect(cfg.baseUrl).toBe('http://localhost:8080');
    expect(cfg.eventId).toBe(DEMO_EVENT_ID);
    expect(cfg.resultsDir).toBe('results');
    expect(cfg.spike.buyPeak).toBeGreaterThan(cfg.spike.buyCalm);
    expect(cfg.maxQuantity).toBeLessThanOrEqual(6);
  });

  it('when values are set, then they win and a trailing slash is dropped', () => {
    const cfg = readConfig({
      BASE_URL: 'http://nginx:8080/',
      SPIKE_BUY_PEAK: '900',
      SOAK_DURATION: '1m30s',
      MAX_QUANTITY: '6',
    });
    expect(cfg.baseUrl).toBe('http://nginx:8080');
    expect(cfg.spike.buyPeak).toBe(900);
    expect(cfg.soak.duration).toBe('1m30s');
    expect(cfg.maxQuantity).toBe(6);
  });

  it.each([
    ['MAX_QUANTITY', '7'],
    ['MAX_QUANTITY', '0'],
    ['SPIKE_READ_PEAK', 'lots'],
    ['SOAK_DURATION', '5 minutes'],
    ['EVENT_ID', 'not-a-uuid'],
    ['BASE_URL', 'localhost:8080'],
    ['LOG_ACCEPTED', 'maybe'],
    ['STATUS_SHARE', '1.5'],
  ])('when %s=%s, then reading the config fails with the variable named', (name, value) => {
    expect(() => readConfig({ [name]: value })).toThrow(name);
  });

  it('when every default is parsed, then each is valid', () => {
    expect(() => readConfig({ ...ENV_DEFAULTS })).not.toThrow();
  });

  it('when durations are parsed, then k6 units add up', () => {
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('1m30s')).toBe(90_000);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(() => parseDuration('10')).toThrow();
  });
});

describe('keys and buyers', () => {
  const runId = newRunId(Date.now(), 0.123456);

  it('when keys are made for many VUs, scenarios and iterations, then none repeats and all fit the header rules', () => {
    const keys = new Set<string>();
    const buyers = new Set<string>();
    for (const scenario of ['buy', 'sellout']) {
      for (let vu = 1; vu <= 40; vu += 1) {
        for (let iteration = 0; iteration < 60; iteration += 1) {
          const key = idempotencyKey({ runId, scenario, vu, iteration });
          const buyer = buyerId({ runId, scenario, vu, iteration });
          expect(key).toMatch(KEY_PATTERN);
          expect(buyer).toMatch(BUYER_PATTERN);
          keys.add(key);
          buyers.add(buyer);
        }
      }
    }
    expect(keys.size).toBe(2 * 40 * 60);
    expect(buyers.size).toBe(2 * 40 * 60);
  });

  it('when numbers are as large as k6 can count, then the key stays within 128 and the buyer within 64 characters', () => {
    const at = {
      runId: 'x'.repeat(24),
      scenario: 'a-very-long-scenario-name',
      vu: Number.MAX_SAFE_INTEGER,
      iteration: Number.MAX_SAFE_INTEGER,
    };
    expect(idempotencyKey(at).length).toBeLessThanOrEqual(128);
    expect(buyerId(at).length).toBeLessThanOrEqual(64);
  });

  it('when two runs use the same VU and iteration, then their keys differ', () => {
    const a = idempotencyKey({ runId: newRunId(1_700_000_000_000, 0.1), scenario: 'buy', vu: 1, iteration: 0 });
    const b = idempotencyKey({ runId: newRunId(1_700_000_000_001, 0.1), scenario: 'buy', vu: 1, iteration: 0 });
    expect(a).not.toBe(b);
  });

  it('when a buyer pool is set, then buyers repeat across iterations', () => {
    const ids = Array.from({ length: 10 }, (_, i) => buyerId({ runId, scenario: 'buy', vu: 1, iteration: i, pool: 3 }));
    expect(new Set(ids).size).toBe(3);
  });

  it('when RUN_ID is given, then it is used, and a malformed one is refused', () => {
    expect(resolveRunId('nightly_1', 0, 0)).toBe('nightly_1');
    expect(() => resolveRunId('has-dash', 0, 0)).toThrow('RUN_ID');
    expect(resolveRunId('', 1, 0.5)).toMatch(/^r[a-z0-9]+$/);
  });
});

describe('purchase payloads', () => {
  const tiers = [
    { id: TIER, capacity: 500 },
    { id: '00000000-0000-4000-8000-0000000000a2', capacity: 1500 },
  ];

  it('when quantities are drawn across [0, 1), then each is within 1..max and never above 6', () => {
    for (const max of [1, 4, 6, 9]) {
      for (let r = 0; r < 1; r += 0.01) {
        const q = pickQuantity(r, max);
        expect(q).toBeGreaterThanOrEqual(1);
        expect(q).toBeLessThanOrEqual(Math.min(max, 6));
      }
    }
    expect(pickQuantity(0.999999, 6)).toBe(6);
  });

  it('when tiers are picked, then the choice follows capacity', () => {
    expect(pickTier(tiers, 0.2).id).toBe(TIER);
    expect(pickTier(tiers, 0.3).id).not.toBe(TIER);
    expect(pickTier(tiers, 0.999999).id).not.toBe(TIER);
  });

  it('when a body is built, then it is valid against the contract', () => {
    const body = JSON.parse(
      purchaseBody({
        tierId: TIER,
        quantity: 3,
        buyerId: buyerId({ runId: 'r1', scenario: 'buy', vu: 2, iteration: 9 }),
      }),
    );
    expect(purchaseProblems(body)).toEqual([]);
  });

  it('when a body breaks the contract, then each problem is named', () => {
    expect(purchaseProblems({ tierId: 'x', quantity: 7, buyerId: '' })).toHaveLength(3);
    expect(purchaseProblems({ tierId: TIER, quantity: 1, buyerId: 'b', extra: 1 })).toHaveLength(1);
  });
});

describe('expected statuses', () => {
  it('when a purchase is answered 202, 409 sold out or 429, then it is expected; 500 and 503 never are', () => {
    for (const s of [202, 409, 429]) expect(isExpectedStatus('purchase', s)).toBe(true);
    for (const kind of Object.keys(EXPECTED_STATUSES)) {
      expect(isExpectedStatus(kind, 500)).toBe(false);
      expect(isExpectedStatus(kind, 503)).toBe(false);
    }
    expect(isExpectedStatus('availability', 409)).toBe(false);
  });

  it('when answers are classified, then the problem code decides what a 409 means', () => {
    expect(purchaseOutcome(202, null)).toBe('accepted');
    expect(purchaseOutcome(409, { code: 'sold_out' })).toBe('sold_out');
    expect(purchaseOutcome(409, { code: 'limit_exceeded' })).toBe('limit_exceeded');
    expect(purchaseOutcome(409, { code: 'sale_not_open' })).toBe('conflict');
    expect(purchaseOutcome(429, null)).toBe('rate_limited');
    expect(purchaseOutcome(503, { code: 'broker_unavailable' })).toBe('unavailable');
    expect(purchaseOutcome(400, { code: 'validation_failed' })).toBe('invalid');
    expect(purchaseOutcome(500, null)).toBe('error');
    expect(purchaseOutcome(0, null)).toBe('error');
  });

  it('when a 503 carries Retry-After, then the wait follows it within bounds', () => {
    expect(retryAfterSeconds({ headers: { 'Retry-After': '2' } })).toBe(2);
    expect(retryAfterSeconds({ headers: { 'retry-after': '600' } })).toBe(30);
    expect(retryAfterSeconds({ headers: {} })).toBe(1);
  });
});

describe('options', () => {
  const limits = { maxFailedRate: 0.01, minChecksRate: 0.99, maxDropped: 10, abortDelay: '10s' };

  it('when thresholds are built, then failures and checks abort a broken run after the delay and dropped iterations are bounded', () => {
    const t = baseThresholds(limits);
    expect(t.http_req_failed).toContainEqual({ threshold: 'rate<0.5', abortOnFail: true, delayAbortEval: '10s' });
    expect(t.checks).toContainEqual({ threshold: 'rate>=0.5', abortOnFail: true, delayAbortEval: '10s' });
    expect(t.dropped_iterations).toEqual(['count<=10']);
    expect(latencyThresholds('purchase', 300, 800)).toEqual({
      'http_req_duration{kind:purchase}': ['p(95)<300', 'p(99)<800'],
    });
  });

  it('when a flash sale is staged, then it goes calm, peak, held, calm', () => {
    const stages = flashSaleStages({
      calm: 5,
      peak: 100,
      calmFor: '10s',
      rampFor: '5s',
      holdFor: '30s',
      coolFor: '10s',
    });
    expect(stages.map((s) => s.target)).toEqual([5, 100, 100, 5]);
    const scenario = rampingArrivals({
      exec: 'buy',
      calm: 5,
      peak: 100,
      stages: { calmFor: '1s', rampFor: '1s', holdFor: '1s', coolFor: '1s' },
      preVUs: 50,
      maxVUs: 20,
    });
    expect(scenario).toMatchObject({
      executor: 'ramping-arrival-rate',
      startRate: 5,
      timeUnit: '1s',
      preAllocatedVUs: 20,
      maxVUs: 20,
    });
  });
});

describe('sellout logic', () => {
  const a = { id: 'a', capacity: 10 };
  const b = { id: 'b', capacity: 10 };

  it('when a tier answers sold out to several tickets, then it is tried with single tickets before it is closed', () => {
    const plan = createSelloutPlan([a, b], 4);
    plan.observe('a', 3, 'sold_out');
    expect(plan.stateOf('a')).toBe('single');
    plan.observe('a', 1, 'sold_out');
    plan.observe('b', 1, 'sold_out');
    expect(plan.next(0.1, 0.9)).toBeNull();
    plan.reopen([{ tierId: 'b', remaining: 2 }]);
    expect(plan.next(0.9, 0.9)).toEqual({ tier: b, quantity: 1 });
  });

  it('when the API figures are joined, then oversell and disagreement are counted', () => {
    const good = inventory([{ id: 'a', capacity: 10, sold: 10 }], [{ tierId: 'a', remaining: 0 }]);
    expect(good).toMatchObject({ soldOut: true, oversold: 0, mismatch: 0 });
    const bad = inventory(
      [
        { id: 'a', capacity: 10, sold: 12 },
        { id: 'b', capacity: 5, sold: 0 },
      ],
      [{ tierId: 'a', remaining: 0 }],
    );
    expect(bad).toMatchObject({ oversold: 2, mismatch: 2 + 5, soldOut: false });
  });
});
