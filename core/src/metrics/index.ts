export {
  type ApiMetrics,
  createApiMetrics,
  createRegistry,
  createWorkerMetrics,
  LATENCY_BUCKETS,
  type WorkerMetrics,
} from './registry.js';
export type { ExposedMetric, MetricValues, RequestMetrics, SampleValue } from './request-metrics.js';
