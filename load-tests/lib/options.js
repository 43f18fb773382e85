/**
 * Building blocks of the scripts' `options`: thresholds and arrival-rate stages.
 * Pure module, shared by k6 and Node. README.md explains what each threshold means.
 */

/** Trend statistics kept for the summary (p99 and count are not in k6's default set). */
export const SUMMARY_TREND_STATS = Object.freeze(['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'count']);

/** Latency thresholds of one request kind: its own p95 and p99, not diluted by the others. */
export function latencyThresholds(kind, p95, p99) {
  return { [`http_req_duration{kind:${kind}}`]: [`p(95)<${p95}`, `p(99)<${p99}`] };
}

/**
 * The thresholds every load script shares.
 * - http_req_failed: unexpected statuses (5xx, timeouts, a 4xx we did not provoke) stay rare;
 *   a run where half the requests fail is aborted after the warm-up, it measures nothing.
 * - checks: answers have the right shape; same abort rule.
 * - dropped_iterations: k6 could not start iterations at the asked rate (too few VUs or a
 *   saturated load generator). Past a handful the run did not apply the load it claims.
 * @param {{maxFailedRate: number, minChecksRate: number, maxDropped: number, abortDelay: string}} limits
 */
export function baseThresholds(limits) {
  return {
    http_req_failed: [
      `rate<=${limits.maxFailedRate}`,
      { threshold: 'rate<0.5', abortOnFail: true, delayAbortEval: limits.abortDelay },
    ],
    checks: [
      `rate>=${limits.minChecksRate}`,
      { threshold: 'rate>=0.5', abortOnFail: true, delayAbortEval: limits.abortDelay },
    ],
    dropped_iterations: [`count<=${limits.maxDropped}`],
  };
}

/**
 * Stages of a flash sale for a ramping-arrival-rate scenario: calm traffic, a steep ramp
 * when the sale opens, the peak held, then back to calm. Targets are iterations per second.
 * @param {{calm: number, peak: number, calmFor: string, rampFor: string, holdFor: string, coolFor: string}} s
 */
export function flashSaleStages({ calm, peak, calmFor, rampFor, holdFor, coolFor }) {
  return [
    { duration: calmFor, target: calm },
    { duration: rampFor, target: peak },
    { duration: holdFor, target: peak },
    { duration: coolFor, target: calm },
  ];
}

/** A ramping-arrival-rate scenario (open model: arrivals do not wait for answers). */
export function rampingArrivals({ exec, calm, peak, stages, preVUs, maxVUs }) {
  return {
    executor: 'ramping-arrival-rate',
    exec,
    startRate: calm,
    timeUnit: '1s',
    preAllocatedVUs: Math.min(preVUs, maxVUs),
    maxVUs,
    stages: flashSaleStages({ calm, peak, ...stages }),
    gracefulStop: '10s',
  };
}
