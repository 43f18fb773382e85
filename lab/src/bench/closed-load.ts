import autocannon, { type AutocannonRequest } from 'autocannon';
import type { LoadResult, RequestSource } from './bench-types.js';
import { LatencyRecorder } from './latency.js';

export interface ClosedLoadSpec {
  /** http://host:port of nginx. */
  base: string;
  connections: number;
  /** Seconds; ignored when `amount` is given. */
  durationS: number;
  /** Stop after this many responses instead of after a duration. */
  amount?: number;
  /** Called for every request: a fresh body and headers each time. */
  request: RequestSource;
  expected: number[];
  /** Every response, with its body (to record the ids of accepted purchases). */
  onResponse?: (status: number, body: string) => void;
}

/**
 * A closed-model run with autocannon: `connections` keep-alive connections, each sending
 * its next request as soon as the previous one is answered, so the rate is what the
 * system can do at that concurrency. Requests are generated per request through
 * `setupRequest` (unique Idempotency-Keys); latencies are recorded from autocannon's
 * `response` events at sub-millisecond resolution.
 */
export function runClosedLoad(spec: ClosedLoadSpec): Promise<LoadResult> {
  const latencies = new LatencyRecorder();
  const source = spec.request;
  // A fixed request is encoded once by autocannon; a generated one is rebuilt per request.
  const request: AutocannonRequest =
    typeof source === 'function'
      ? {
          ...source(),
          setupRequest: (req) => {
            const next = source();
            return {
              ...req,
              method: next.method,
              path: next.path,
              headers: { ...next.headers },
              body: next.body ?? '',
            };
          },
        }
      : { ...source, ...(source.headers ? { headers: { ...source.headers } } : {}) };
  if (spec.onResponse) request.onResponse = spec.onResponse;
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: spec.base,
        connections: spec.connections,
        duration: spec.durationS,
        ...(spec.amount !== undefined ? { amount: spec.amount } : {}),
        timeout: 10,
        requests: [request],
      },
      (err, result) => {
        if (err) return reject(err);
        const statuses = Object.fromEntries(Object.entries(result.statusCodeStats).map(([s, v]) => [s, v.count]));
        const ok = spec.expected.reduce((sum, s) => sum + (statuses[String(s)] ?? 0), 0);
        const completed = Object.values(statuses).reduce((a, b) => a + b, 0);
        const durationS = result.duration;
        resolve({
          model: 'closed',
          connections: spec.connections,
          durationS,
          expected: spec.expected,
          completed,
          ok,
          rate: Math.round(ok / durationS),
          statuses,
          errors: result.errors,
          ...latencies.summary(),
        });
      },
    );
    instance.on('response', (_client: unknown, _status: number, _bytes: number, responseTime: number) =>
      latencies.record(responseTime),
    );
  });
}
