import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { createRequestMetrics } from './request-metrics.js';

/** Buckets for fast paths (seconds): sub-millisecond to a few seconds. */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** A registry per process, with Node's default metrics and the instance as a default label. */
export function createRegistry(instance: string, component: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ instance, component });
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** The API replica's metrics (documented in docs/observability.md). */
export function createApiMetrics(registry: Registry) {
  return {
    /** stampede_http_requests_total and stampede_http_request_duration_seconds, recorded together. */
    http: createRequestMetrics(
      registry,
      { requests: 'stampede_http_requests_total', duration: 'stampede_http_request_duration_seconds' },
      LATENCY_BUCKETS,
    ),
    cacheReads: new Counter({
      name: 'stampede_cache_reads_total',
      help: 'Availability reads by cache result: hit, miss, bypass (Redis down), stale (Postgres down); level of a hit: l1 (memory), l2 (Redis)',
      labelNames: ['result', 'level'] as const,
      registers: [registry],
    }),
    admissions: new Counter({
      name: 'stampede_admissions_total',
      help: 'Purchase admissions by outcome',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    confirmDuration: new Histogram({
      name: 'stampede_broker_confirm_duration_seconds',
      help: 'Time from publish to broker confirm',
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
  };
}

export type ApiMetrics = ReturnType<typeof createApiMetrics>;

/** The worker's metrics (documented in docs/observability.md). */
export function createWorkerMetrics(registry: Registry) {
  return {
    processed: new Counter({
      name: 'stampede_messages_processed_total',
      help: 'Purchase messages processed by outcome: confirmed, rejected, duplicate, dead_lettered',
      labelNames: ['outcome', 'reason'] as const,
      registers: [registry],
    }),
    batchDuration: new Histogram({
      name: 'stampede_batch_duration_seconds',
      help: 'Time to decide and commit one batch',
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    batchSize: new Histogram({
      name: 'stampede_batch_size',
      help: 'Messages per committed batch',
      buckets: [1, 5, 10, 50, 100, 250, 500, 1000, 2500],
      registers: [registry],
    }),
    retries: new Counter({
      name: 'stampede_batch_retries_total',
      help: 'Batch retries after transient failures (Postgres away)',
      registers: [registry],
    }),
    deadLettered: new Counter({
      name: 'stampede_dead_lettered_total',
      help: 'Messages sent to the dead-letter queue, by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'stampede_queue_depth',
      help: 'Ready messages in the purchase queue as the worker last saw them',
      registers: [registry],
    }),
  };
}

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;
