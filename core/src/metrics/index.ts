export {
  type ApiMetrics,
  createApiMetrics,
  createRegistry,
  createWorkerMetrics,
  LATENCY_BUCKETS,
  type WorkerMetrics,
} from './registry.js';
