import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acceptedIdsFromLog, acceptedLine, figures, summaryFiles, textSummary } from '../lib/summary.js';

/** A k6 summary object of the documented shape: metrics[name] = { type, contains, values, thresholds? }. */
function k6Data({ dropped = 0, purchaseP95Ok = true } = {}) {
  const trend = (v: Record<string, number>, thresholds?: Record<string, { ok: boolean }>) => ({
    type: 'trend',
    contains: 'time',
    values: v,
    ...(thresholds ? { thresholds } : {}),
  });
  const counter = (count: number, rate = 1) => ({ type: 'counter', contains: 'default', values: { count, rate } });
  return {
    root_group: { name: '', path: '', groups: [], checks: [] },
    options: { summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'count'] },
    state: { isStdOutTTY: false, isStdErrTTY: false, testRunDurationMs: 61_500 },
    metrics: <Record<string, unknown>>{
      http_reqs: counter(12_345, 200.7),
      iterations: counter(12_000, 195.1),
      ...(dropped
        ? {
            dropped_iterations: {
              type: 'counter',
              contains: 'default',
              values: { count: dropped, rate: 1 },
              thresholds: { 'count<=10': { ok: dropped <= 10 } },
            },
          }
        : {}),
      http_req_failed: {
        type: 'rate',
        contains: 'default',
        values: { rate: 0.0012, passes: 15, fails: 12_330 },
        thresholds: { 'rate<=0.01': { ok: true }, 'rate<0.5': { ok: true } },
      },
      checks: { type: 'rate', contains: 'default', values: { rate: 0.9987, passes: 14_000, fails: 18 } },
      'http_req_duration{kind:availability}': trend(
        { count: 9000, avg: 3, min: 1, med: 2.5, max: 88, 'p(90)': 6, 'p(95)': 8.25, 'p(99)': 21.5 },
        { 'p(95)<100': { ok: true } },
      ),
      'http_req_duration{kind:purchase}': trend(
        { count: 3345, avg: 9, min: 2, med: 7.1, max: 301, 'p(90)': 20, 'p(95)': 41.9, 'p(99)': 120.4 },
        { 'p(95)<300': { ok: purchaseP95Ok } },
      ),
      purchases_accepted: counter(2100),
      purchases_sold_out: counter(1100),
      purchases_rate_limited: counter(145),
      tickets_accepted: counter(5230),
    },
  };
}

describe('the end-of-test summary', () => {
  it('when a run passed, then the text gives the verdict, the request figures, per-kind latency and purchase outcomes', () => {
    const text = textSummary('spike', k6Data(), { runId: 'r123', maxDropped: 10 });
    expect(text).toContain('stampede k6 spike (run r123)');
    expect(text).toContain('61.5 s, 12345 requests, 200.7 req/s');
    expect(text).toContain('verdict: PASSED');
    expect(text).toContain('held the rate (0 dropped iterations, 10 allowed)');
    expect(text).toContain('checks: 99.87% passed (14000 ok, 18 failed)');
    expect(text).toContain('unexpected statuses: 0.12% of requests (15)');
    expect(text).toMatch(/availability\s+9000\s+2\.5\s+8\.3\s+21\.5\s+88\.0/);
    expect(text).toMatch(/purchase\s+3345\s+7\.1\s+41\.9\s+120\.4\s+301\.0/);
    expect(text).toContain(
      'purchases: 2100 accepted (5230 tickets), 1100 sold out, 0 over the buyer limit, 145 rate limited',
    );
    expect(text).toContain('ok   http_req_duration{kind:purchase} p(95)<300');
  });

  it('when iterations were dropped beyond the allowance, then the run is reported invalid', () => {
    const text = textSummary('spike', k6Data({ dropped: 57 }), { maxDropped: 10 });
    expect(text).toContain('INVALID RUN, 57 iterations dropped (10 allowed)');
    expect(text).toContain('FAIL dropped_iterations count<=10');
    expect(text).toContain('verdict: FAILED, 1 threshold(s) not met');
  });

  it('when a latency threshold failed, then the verdict says so and names it', () => {
    const text = textSummary('spike', k6Data({ purchaseP95Ok: false }), { maxDropped: 10 });
    expect(text).toContain('verdict: FAILED');
    expect(text).toContain('FAIL http_req_duration{kind:purchase} p(95)<300');
  });

  it('when metrics are missing, then the figures read as zero instead of crashing', () => {
    const fig = figures({ metrics: {}, state: {} });
    expect(fig).toMatchObject({ requests: 0, dropped: 0, thresholds: [], purchases: undefined });
    expect(textSummary('smoke', {})).toContain('verdict: PASSED');
  });

  it('when files are asked for, then stdout, the text and the JSON go under the results folder', () => {
    const out = summaryFiles('read-soak', k6Data(), { resultsDir: '/scripts/results', runId: 'r9', maxDropped: 10 });
    expect(Object.keys(out).sort()).toEqual([
      '/scripts/results/read-soak-summary.json',
      '/scripts/results/read-soak-summary.txt',
      'stdout',
    ]);
    const json = JSON.parse(out['/scripts/results/read-soak-summary.json']!);
    expect(json).toMatchObject({
      script: 'read-soak',
      runId: 'r9',
      thresholdsOk: true,
      rateHeld: true,
      figures: { requests: 12_345 },
    });
    expect(json.k6.metrics.http_reqs.values.count).toBe(12_345);
    expect(out.stdout).toBe(out['/scripts/results/read-soak-summary.txt']);
  });

  it('when the sellout gauges are present, then the inventory and the client view are compared', () => {
    const data = k6Data();
    const gauge = (value: number) => ({
      type: 'gauge',
      contains: 'default',
      values: { value, min: value, max: value },
    });
    const counter = (count: number) => ({ type: 'counter', contains: 'default', values: { count, rate: 1 } });
    Object.assign(data.metrics, {
      tickets_sold_start: gauge(0),
      tickets_sold_final: gauge(100),
      tickets_capacity: gauge(100),
      tickets_remaining_final: gauge(0),
      tickets_oversold: gauge(0),
      inventory_mismatch: gauge(0),
      tickets_confirmed: counter(100),
      purchases_confirmed: counter(40),
      purchases_rejected: counter(2),
      purchases_unresolved: counter(0),
    });
    expect(textSummary('sellout', data)).toContain('API sold delta 100 agrees');
    data.metrics.tickets_confirmed = counter(97);
    expect(textSummary('sellout', data)).toContain('API sold delta 100 DOES NOT MATCH');
  });
});

describe('accepted purchase ids', () => {
  const a = '3f1c1f0d-9b11-5a8e-9a57-7b0c4a1e2f59';
  const b = '0b7e2c1a-1111-5222-8333-444455556666';

  it('when k6 console output holds ACCEPTED lines in any log format, then each id is collected once', () => {
    const log = [
      `time="2025-01-01T00:00:00Z" level=info msg="${acceptedLine(a, 'r1-buy-1-0')}" source=console`,
      acceptedLine(b, 'r1-buy-2-0'),
      JSON.stringify({ level: 'info', msg: acceptedLine(a, 'r1-buy-1-0'), source: 'console' }),
      'RUN r1 event x',
    ].join('\n');
    expect(acceptedIdsFromLog(log)).toEqual([a, b]);
  });

  it('when the collect tool runs on a console log, then it writes one id per line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'k6-accepted-'));
    writeFileSync(join(dir, 'spike-console.log'), `${acceptedLine(a, 'k1')}\nnoise\n${acceptedLine(b, 'k2')}\n`);
    execFileSync(
      process.execPath,
      ['load-tests/tools/collect-accepted.js', join(dir, 'spike-console.log'), join(dir, 'spike-accepted.txt')],
      { stdio: 'pipe' },
    );
    expect(readFileSync(join(dir, 'spike-accepted.txt'), 'utf8')).toBe(`${a}\n${b}\n`);
  });
});
