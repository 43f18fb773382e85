import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { KEY_PATTERN } from '../lib/ids.js';
import { purchaseProblems } from '../lib/payload.js';
import { acceptedIdsFromLog } from '../lib/summary.js';
import { asIteration, fake, last, resetFake, total } from './support/fake-k6.js';
import { createFakeStampede, type FakeOptions } from './support/fake-stampede.js';

vi.mock('k6', async () => (await import('./support/fake-k6.js')).k6Module);
vi.mock('k6/http', async () => (await import('./support/fake-k6.js')).httpModule);
vi.mock('k6/execution', async () => (await import('./support/fake-k6.js')).execModule);
vi.mock('k6/metrics', async () => (await import('./support/fake-k6.js')).metricsModule);

const EVENT = '11111111-2222-4333-8444-555555555555';
const ENV = { BASE_URL: 'http://lab:8080', EVENT_ID: EVENT, RESULTS_DIR: '/scripts/results' };
const scripts = {
  smoke: () => import('../smoke.js'),
  spike: () => import('../spike.js'),
  sellout: () => import('../sellout.js'),
  'read-soak': () => import('../read-soak.js'),
};

// The scripts are plain JS run by k6; here they are driven through the fake runtime.
// biome-ignore lint/suspicious/noExplicitAny: a k6 script's exports are whatever the script defines
type Script = Record<string, any>;

async function load(name: keyof typeof scripts, env: Record<string, string> = {}): Promise<Script> {
  vi.resetModules();
  (globalThis as { __ENV?: object }).__ENV = { ...ENV, ...env };
  return scripts[name]();
}

function lab(
  options: Partial<FakeOptions> = {},
  wrap?: (
    handler: ReturnType<typeof createFakeStampede>['handler'],
  ) => ReturnType<typeof createFakeStampede>['handler'],
) {
  const api = createFakeStampede({ eventId: EVENT, capacities: [20, 30], ...options });
  resetFake(wrap ? wrap(api.handler) : api.handler);
  return api;
}

const failedChecks = () =>
  fake()
    .checks.filter((c) => !c.ok)
    .map((c) => c.name);
const posts = () => fake().requests.filter((r) => r.method === 'POST');

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.spyOn(console, 'log').mockImplementation((msg: unknown) => {
    fake().logs.push(String(msg));
  });
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('smoke.js', () => {
  it('when the lab answers, then every check passes, one purchase is made, replayed to the same id, and decided', async () => {
    const api = lab();
    const m = await load('smoke');
    const run = m.setup();
    asIteration('smoke', 1, 0, () => m.smoke(run));
    expect(failedChecks()).toEqual([]);
    expect(api.purchases.size).toBe(1);
    const [purchase] = [...api.purchases.values()];
    expect(purchase!.status).toMatch(/confirmed|rejected/);
    expect(posts()).toHaveLength(2);
    expect(posts()[0]!.headers['Idempotency-Key']).toMatch(KEY_PATTERN);
    expect(posts()[1]!.headers['Idempotency-Key']).toBe(posts()[0]!.headers['Idempotency-Key']);
    expect(acceptedIdsFromLog(fake().logs.join('\n'))).toEqual([purchase!.id]);
    for (const r of fake().requests)
      expect(r.tags.kind, r.url).toMatch(/^(events|event|availability|purchase|status)$/);
  });

  it('when the house is sold out, then a 409 sold_out still passes the smoke test', async () => {
    const api = lab({ capacities: [0] });
    const m = await load('smoke');
    asIteration('smoke', 1, 0, () => m.smoke(m.setup()));
    expect(failedChecks()).toEqual([]);
    expect(api.purchases.size).toBe(0);
  });

  it('when purchases fail with 500, then the smoke test fails its checks', async () => {
    lab({}, (h) => (req) => (req.method === 'POST' ? { status: 500, body: '' } : h(req)));
    const m = await load('smoke');
    asIteration('smoke', 1, 0, () => m.smoke(m.setup()));
    expect(failedChecks()).toContain('purchase answered as designed (202, 409 sold_out/limit_exceeded, 429)');
  });

  it('when the event does not exist, then setup stops the run before any load', async () => {
    lab();
    const m = await load('smoke', { EVENT_ID: '99999999-2222-4333-8444-555555555555' });
    expect(() => m.setup()).toThrow(/cannot read event/);
  });
});

describe('spike.js', () => {
  it('when the env sets the peak, then both scenarios ramp by arrival rate to it and their exec functions exist', async () => {
    lab();
    const m = await load('spike', { SPIKE_BUY_PEAK: '250', SPIKE_HOLD_FOR: '1m' });
    const { browse, buy } = m.options.scenarios;
    expect(buy).toMatchObject({ executor: 'ramping-arrival-rate', exec: 'buy' });
    expect(buy.stages.map((s: { target: number }) => s.target)).toEqual([5, 250, 250, 5]);
    expect(buy.stages[2].duration).toBe('1m');
    expect(browse.executor).toBe('ramping-arrival-rate');
    expect(typeof m[browse.exec]).toBe('function');
    expect(typeof m[buy.exec]).toBe('function');
    expect(m.options.thresholds['http_req_duration{kind:purchase}']).toEqual(['p(95)<300', 'p(99)<800']);
  });

  it('when many VUs buy through a rate limit, then keys are unique, bodies valid, 429 is expected and checks pass', async () => {
    const api = lab({ capacities: [5_000, 5_000], rateLimitEvery: 4 });
    const m = await load('spike');
    const run = m.setup();
    let iteration = 0;
    for (let vu = 1; vu <= 5; vu += 1) {
      for (let i = 0; i < 20; i += 1) asIteration('buy', vu, iteration++, () => m.buy(run));
      asIteration('browse', vu, vu, () => m.browse(run));
    }
    expect(failedChecks()).toEqual([]);
    const keys = posts().map((r) => r.headers['Idempotency-Key']);
    expect(new Set(keys).size).toBe(100);
    for (const r of posts()) {
      expect(purchaseProblems(JSON.parse(r.body!))).toEqual([]);
      expect(r.expected).toEqual(expect.arrayContaining([202, 409, 429]));
      expect(r.expected).not.toContain(500);
    }
    expect(total('purchases_rate_limited')).toBe(25);
    expect(total('purchases_accepted')).toBe(75);
    expect(acceptedIdsFromLog(fake().logs.join('\n')).sort()).toEqual([...api.purchases.keys()].sort());
  });
});

describe('sellout.js', () => {
  it('when buyers race through rejections and rate limits, then the house sells out and the verification passes', async () => {
    const api = lab({ capacities: [7, 13], rejectEvery: 4, rateLimitEvery: 5 });
    const m = await load('sellout', { MAX_QUANTITY: '6' });
    const run = m.setup();
    for (let vu = 1; vu <= 3; vu += 1) asIteration('sellout', vu, vu - 1, () => m.sellout(run));
    m.teardown(run);
    expect(failedChecks()).toEqual([]);
    expect(api.tiers.map((t) => t.sold)).toEqual([7, 13]);
    expect(fake().checks.filter((c) => c.tags?.kind === 'verify')).toHaveLength(3);
    expect(total('tickets_confirmed')).toBe(20);
    expect(total('purchases_unresolved')).toBe(0);
    expect(total('purchases_rejected')).toBeGreaterThan(0);
    expect(last('tickets_oversold')).toBe(0);
    expect(last('tickets_sold_final')).toBe(20);
  });

  it('when the API reports more sold than capacity, then the verification checks fail', async () => {
    lab({ capacities: [4], oversell: 2 });
    const m = await load('sellout', { SELLOUT_DRAIN_TIMEOUT: '5s' });
    const run = m.setup();
    asIteration('sellout', 1, 0, () => m.sellout(run));
    m.teardown(run);
    expect(failedChecks()).toEqual(
      expect.arrayContaining([
        'not oversold: sold <= capacity in every tier',
        'capacity - remaining == sold (confirmed) in every tier',
      ]),
    );
    expect(last('tickets_oversold')).toBe(2);
    expect(m.options.thresholds.tickets_oversold).toEqual(['value==0']);
  });
});

describe('read-soak.js', () => {
  it('when reads are answered from the cache, then checks pass and the hit rate is recorded', async () => {
    lab();
    const m = await load('read-soak', { SOAK_RATE: '50', SOAK_DURATION: '2m' });
    expect(m.options.scenarios.read).toMatchObject({
      executor: 'constant-arrival-rate',
      rate: 50,
      duration: '2m',
      exec: 'read',
    });
    const run = m.setup();
    for (let i = 0; i < 10; i += 1) asIteration('read', 1, i, () => m.read(run));
    expect(failedChecks()).toEqual([]);
    expect(fake().samples.availability_cache_hit).toEqual(Array(10).fill(1));
    expect(fake().samples.availability_stale).toEqual(Array(10).fill(0));
  });
});

describe('handleSummary', () => {
  it.each(Object.keys(scripts))(
    'when %s ends, then its summary files go to RESULTS_DIR with the run id of setup',
    async (name) => {
      lab();
      const m = await load(name as keyof typeof scripts);
      const out = m.handleSummary({ metrics: {}, state: { testRunDurationMs: 1000 }, setup_data: { runId: 'rabc' } });
      expect(Object.keys(out).sort()).toEqual([
        `/scripts/results/${name}-summary.json`,
        `/scripts/results/${name}-summary.txt`,
        'stdout',
      ]);
      expect(out.stdout).toContain(`stampede k6 ${name} (run rabc)`);
    },
  );
});
